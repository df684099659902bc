"""The shape the codebase keeps: short functions (issue 26)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONGEST = 60  # lines a function of bot/ or model/ may take


def test_no_function_in_bot_or_model_is_over_60_lines():
    long = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("model/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, "split these into functions with one job each: " + ", ".join(long)
