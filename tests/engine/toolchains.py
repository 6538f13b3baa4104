"""Layers holding the machine's own Go and Rust toolchains, in the upstream images' layout."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.engine.errors import StandinError
from tests.engine.layers import BuildContext, Layer
from tests.engine.tarlayer import LayerWriter

# Generated Dockerfiles run Go and Rust on $BUILDPLATFORM and cross-compile.
NATIVE_TOOLCHAIN = "the machine's own toolchain; builds run it on $BUILDPLATFORM"


@dataclass(frozen=True)
class GoToolchain(Layer):
    """The machine's Go at /usr/local/go and an empty GOPATH /go (mode 1777), as upstream."""

    version: str = ""
    goroot: str = ""
    revision: ClassVar[int] = 1
    native_only: ClassVar[str] = NATIVE_TOOLCHAIN

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        ctx.log(f"copying {self.goroot} ({self.version})")
        with LayerWriter(out) as writer:
            for name in ("usr", "usr/local"):
                writer.add_dir(name)
            writer.add_tree(Path(self.goroot), "usr/local/go")
            for name in ("go", "go/src", "go/bin"):
                writer.add_dir(name, mode=0o1777)
        return {"go_version": self.version}


@dataclass(frozen=True)
class RustToolchain(Layer):
    """rustup + the machine's toolchain in upstream's layout, with only the listed components.

    Upstream installs the minimal profile (rustc, cargo, rust-std); the scaffolds add clippy and
    rustfmt. Files are taken from each component's own install manifest, and rustup's component
    lists are rewritten, so ``rustup component list --installed`` shows exactly these.
    """

    version: str = ""
    host: str = ""
    sysroot: str = ""
    rustup: str = ""
    components: tuple[str, ...] = ()
    proxies: tuple[str, ...] = ()
    settings_version: str = "12"
    revision: ClassVar[int] = 1
    native_only: ClassVar[str] = NATIVE_TOOLCHAIN

    @property
    def toolchain(self) -> str:
        return f"{self.version}-{self.host}"

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        ctx.log(f"copying rust {self.version} ({', '.join(self.components)})")
        source = Path(self.sysroot)
        rustlib = source / "lib" / "rustlib"
        names = [f"{component}-{self.host}" for component in self.components]
        for name in names:
            if not (rustlib / f"manifest-{name}").exists():
                raise StandinError(f"the machine's toolchain {source} lacks component {name}")
        top = f"usr/local/rustup/toolchains/{self.toolchain}"
        # Upstream runs chmod -R a+w on both homes so any user can add components.
        writable = 0o222
        with LayerWriter(out) as writer:
            for name in ("usr", "usr/local"):
                writer.add_dir(name)
            for name in (
                "usr/local/rustup",
                "usr/local/rustup/toolchains",
                "usr/local/cargo",
                "usr/local/cargo/bin",
            ):
                writer.add_dir(name, mode=0o777)
            writer.add_file(
                "usr/local/rustup/settings.toml",
                (
                    f'version = "{self.settings_version}"\n'
                    f'default_toolchain = "{self.toolchain}"\n'
                    'profile = "minimal"\n\n[overrides]\n'
                ).encode(),
                mode=0o666,
            )
            writer.add_path(source, top, mode_or=writable)
            for name in names:
                for line in (rustlib / f"manifest-{name}").read_text().splitlines():
                    kind, _, rel = line.partition(":")
                    self._add_with_parents(writer, source, top, rel, writable)
                    if kind == "dir":
                        writer.add_tree(source / rel, f"{top}/{rel}", mode_or=writable)
                    else:
                        writer.add_path(source / rel, f"{top}/{rel}", mode_or=writable)
                writer.add_path(
                    rustlib / f"manifest-{name}",
                    f"{top}/lib/rustlib/manifest-{name}",
                    mode_or=writable,
                )
            for keep in ("multirust-channel-manifest.toml", "rust-installer-version"):
                writer.add_path(rustlib / keep, f"{top}/lib/rustlib/{keep}", mode_or=writable)
            writer.add_file(
                f"{top}/lib/rustlib/components",
                "".join(f"{name}\n" for name in names).encode(),
                mode=0o666,
            )
            writer.add_file(
                f"{top}/lib/rustlib/multirust-config.toml",
                self._config(rustlib).encode(),
                mode=0o666,
            )
            writer.add_path(Path(self.rustup), "usr/local/cargo/bin/rustup", mode_or=writable)
            for proxy in self.proxies:
                writer.add_hardlink(f"usr/local/cargo/bin/{proxy}", "usr/local/cargo/bin/rustup")
        return {"rust_version": self.version, "toolchain": self.toolchain}

    @staticmethod
    def _add_with_parents(
        writer: LayerWriter, source: Path, top: str, rel: str, mode_or: int
    ) -> None:
        parts = Path(rel).parts[:-1]
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            if not writer.has(f"{top}/{sub}"):
                writer.add_path(source / sub, f"{top}/{sub}", mode_or=mode_or)

    def _config(self, rustlib: Path) -> str:
        data = tomllib.loads((rustlib / "multirust-config.toml").read_text())
        lines = [f'config_version = "{data.get("config_version", "1")}"', ""]
        for entry in data.get("components", []):
            if entry.get("pkg") in self.components and entry.get("target") == self.host:
                lines += [
                    "[[components]]",
                    f'pkg = "{entry["pkg"]}"',
                    f'target = "{entry["target"]}"',
                    f"is_extension = {str(bool(entry.get('is_extension', False))).lower()}",
                    "",
                ]
        return "\n".join(lines)
