"""Offline checks of template.yaml and of what `sam build` makes of the layer (`make lint`).

Run with the tools environment (aws-sam-cli pins boto3 exactly, so it lives in .venv-tools):

    .venv-tools/bin/python tools/check_template.py [--template T] [--zip Z] [--skip-build]

1. `sam validate --lint` (SAM's schema and cfn-lint on the SAM template);
2. the template translated to CloudFormation by samtranslator, then `cfn-lint` on that JSON:
   only this catches a bad runtime name inside a SAM resource;
3. `sam build` into a temporary folder (SAM_CLI_TELEMETRY=0, build_in_source from
   samconfig.toml), then the built layer tree is compared with the layer zip: the same paths,
   the same bytes, modes 0755 for `timeout-guard` and 0644 for every other file.

No network, no AWS credentials: the region comes from samconfig.toml (us-east-1).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # sam and cfn-lint live beside this interpreter
REGION = "us-east-1"
LAYER = "TimeoutGuardLayer"
WRAPPER = "timeout-guard"
LOCAL_URI_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class CheckError(Exception):
    pass


def run(step: str, cmd: list, **kwargs) -> str:
    started = time.monotonic()
    env = dict(os.environ, SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION=REGION,
               AWS_REGION=REGION)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                            **kwargs)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise CheckError(f"{step} failed ({' '.join(map(str, cmd))}, exit "
                          f"{result.returncode}):\n{result.stdout.rstrip()}")
    print(f"ok  {step} ({elapsed:.1f} s)")
    return result.stdout


def sam_validate(template: Path) -> None:
    run("sam validate --lint", [BIN / "sam", "validate", "--lint", "--template", template,
                                "--region", REGION])


def translate(template: Path) -> dict:
    """The template as CloudFormation, as `sam deploy` would send it (local URIs faked)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator asks boto3 for it
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(template.read_text(encoding="utf-8"))
    sam = copy.deepcopy(sam)
    for resource in sam.get("Resources", {}).values():
        prop = LOCAL_URI_PROPERTIES.get(resource.get("Type"))
        properties = resource.get("Properties", {})
        if prop and isinstance(properties.get(prop), str) \
                and not properties[prop].startswith("s3://"):
            properties[prop] = "s3://bucket/key"
    # Policy templates need no lookup; an AWS managed policy by name would (none used here).
    translator = Translator(managed_policy_map={}, sam_parser=Parser())
    return translator.translate(sam_template=sam, parameter_values={"AWS::Region": REGION})


def lint_translated(template: Path, workdir: Path) -> None:
    started = time.monotonic()
    try:
        translated = translate(template)
    except Exception as exc:  # samtranslator raises its own InvalidDocumentException & co
        raise CheckError(f"samtranslator could not translate {template}: {exc}") from exc
    out = workdir / "translated.json"
    out.write_text(json.dumps(translated, indent=1, sort_keys=True), encoding="utf-8")
    print(f"ok  samtranslator ({time.monotonic() - started:.1f} s, "
          f"{len(translated.get('Resources', {}))} CloudFormation resources)")
    run("cfn-lint on the translated template", [BIN / "cfn-lint", out, "--regions", REGION])


def sam_build(template: Path, workdir: Path) -> Path:
    build_dir = workdir / "build"
    cmd = [BIN / "sam", "build", "--template", template, "--build-dir", build_dir,
           "--cache-dir", workdir / "cache", "--config-file", ROOT / "samconfig.toml"]
    # The example function has no requirements.txt, so its build needs no python3.12.
    run("sam build", cmd)
    return build_dir / LAYER


def compare_tree_with_zip(tree: Path, zip_path: Path) -> None:
    if not zip_path.is_file():
        raise CheckError(f"{zip_path} is missing: run `make layer` first")
    problems = []
    with zipfile.ZipFile(zip_path) as archive:
        in_zip = {}
        for info in archive.infolist():
            if not info.is_dir():
                in_zip[info.filename] = (archive.read(info), (info.external_attr >> 16) & 0o7777)
    in_tree = {}
    for path in sorted(tree.rglob("*")):
        if path.is_file() or path.is_symlink():
            rel = path.relative_to(tree).as_posix()
            in_tree[rel] = (path.read_bytes(), stat.S_IMODE(path.lstat().st_mode))
    for rel in sorted(set(in_zip) - set(in_tree)):
        problems.append(f"only in the zip: {rel}")
    for rel in sorted(set(in_tree) - set(in_zip)):
        problems.append(f"only in the sam build tree: {rel}")
    for rel in sorted(set(in_zip) & set(in_tree)):
        expected = 0o755 if rel == WRAPPER else 0o644
        zip_data, zip_mode = in_zip[rel]
        tree_data, tree_mode = in_tree[rel]
        if zip_data != tree_data:
            problems.append(f"different content: {rel}")
        if zip_mode != expected:
            problems.append(f"zip mode {zip_mode:04o}, expected {expected:04o}: {rel}")
        if tree_mode != expected:
            problems.append(f"tree mode {tree_mode:04o}, expected {expected:04o}: {rel}")
    if problems:
        raise CheckError(f"sam build tree {tree} differs from {zip_path}:\n  "
                          + "\n  ".join(problems))
    print(f"ok  sam build tree == {zip_path} ({len(in_zip)} files, same bytes, "
          f"modes 0755/0644)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--zip", type=Path, default=ROOT / "dist" / "timeout-guard-layer.zip")
    parser.add_argument("--skip-build", action="store_true",
                        help="only validate and lint (no sam build, no comparison)")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the tools' output
    template = args.template.resolve()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="check-template-") as scratch:
            workdir = Path(scratch)
            sam_validate(template)
            lint_translated(template, workdir)
            if not args.skip_build:
                tree = sam_build(template, workdir)
                compare_tree_with_zip(tree, args.zip.resolve())
    except CheckError as exc:
        print(f"FAILED {exc}", file=sys.stderr)
        return 1
    print(f"template checks passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
