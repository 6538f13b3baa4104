"""Every file `stagekit new` writes stays byte-identical to the renders recorded before a change.

``tests/renders/sha256.json`` holds, per case, the sha256 and mode of each file a render wrote
(``.stagekit.json`` included). The cases are the nine language x base combinations with their
defaults, a non-default version and port for each language, and one with an org config's
registry and network settings (``build-args.env``, ``docker-bake.override.hcl``). Rendering goes
through the CLI in-process, so argument parsing, answers, config and rendering are all covered.

Re-record only when a change to the generated files is intended:
``python -m tests.fast.test_render_identity``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from stagekit.cli.main import main

MANIFEST = Path(__file__).resolve().parents[1] / "renders" / "sha256.json"
NASTY = '{{ 7*7 }} "quotes" \\back\\slash ${{ x }} $HOME %{y} `tick`\nsecond line\tand a tab'
ORG_CONFIG = """\
[defaults]
owner = "Payments Team"
module_path = "git.corp.example/payments/{project_name}"

[registry]
prefix = "mirror.corp.example/dockerhub"
[registry.map]
golang = "mirror.corp.example/golang"
[registry.upstreams]
"gcr.io" = "harbor.corp.example/gcr"

[network]
goproxy = "https://goproxy.corp.example,direct"
python_index_url = "https://pypi.corp.example/simple"
cargo_registry_mirror = "https://crates.corp.example/index"
https_proxy = "http://proxy.corp.example:3128"
no_proxy = "localhost,.corp.example"
[network.args]
NPM_CONFIG_REGISTRY = "https://npm.corp.example/"
"""

LANGS = ("go", "rust", "python")
BASES = ("distroless", "scratch", "alpine")
OTHER = {"go": ("alpine", "1.25", "9000"), "rust": ("scratch", "1.94", "9090")}
OTHER["python"] = ("alpine", "3.12", "8000")

CASES: dict[str, list[str]] = {
    f"{lang}-{base}": ["--lang", lang, "--base", base] for lang in LANGS for base in BASES
}
for lang, (base, version, port) in OTHER.items():
    CASES[f"{lang}-{base}-{version}-{port}"] = [
        *("--lang", lang, "--base", base, "--version", version, "--port", port),
        *("--description", NASTY),
    ]
for lang in LANGS:
    CASES[f"{lang}-distroless-org"] = ["--lang", lang, "--base", "distroless", "org"]


def render(case: str, tmp_path: Path) -> dict[str, str]:
    """Render ``case`` under ``tmp_path``; each file's ``mode sha256`` by relative path.

    ``build-args.env`` names the org config file it came from: ``tmp_path`` is hashed as ``TMP``,
    and the record's digest of such a file (which covers the real path) is replaced by a marker.
    """
    args = CASES[case]
    config, owner = Path("/dev/null"), ["--owner", "Demo Team"]
    if args[-1] == "org":  # the owner then comes from the org config's defaults
        args, config, owner = args[:-1], tmp_path / "org.toml", []
        config.write_text(ORG_CONFIG, encoding="utf-8")
    dest = tmp_path / case / "demo-svc"
    dest.parent.mkdir(parents=True)
    argv = ["new", str(dest), "--name", "demo-svc", "--no-input", "--config", str(config)]
    argv += [*args, *owner]
    assert main(argv) == 0
    return {
        str(path.relative_to(dest)): f"{path.stat().st_mode & 0o777:o} "
        + hashlib.sha256(_content(path, dest, bytes(tmp_path))).hexdigest()
        for path in sorted(dest.rglob("*"))
        if path.is_file()
    }


def _content(path: Path, dest: Path, tmp: bytes) -> bytes:
    content = path.read_bytes()
    if path.name == ".stagekit.json":
        record = json.loads(content)
        for name in record.get("files", {}):
            if tmp in (dest / name).read_bytes():
                record["files"][name] = "digest of a file that names TMP"
        content = (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode()
    return content.replace(tmp, b"TMP")


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_is_byte_identical(case: str, tmp_path: Path) -> None:
    recorded = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert render(case, tmp_path) == recorded[case]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        renders = {case: render(case, Path(folder)) for case in sorted(CASES)}
    MANIFEST.write_text(json.dumps(renders, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"{MANIFEST}: {len(renders)} cases\n")
