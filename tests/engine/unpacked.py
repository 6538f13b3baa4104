"""Layers made of Debian packages unpacked one by one: distroless and the alpine stand-in.

No dependency resolution and no maintainer scripts, the way distroless assembles its images;
what those scripts would have made (passwd, the CA bundle, links) is written here instead.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.engine.layers import BuildContext, Layer
from tests.engine.tarlayer import (
    USR_MERGED,
    LayerWriter,
    add_deb,
    ca_bundle,
    deb_control,
    deb_file,
    deb_members,
)
from tests.engine.util import run

# musl's triplet directory in Debian's package and its loader's name on Alpine, per architecture.
MUSL = {"amd64": ("x86_64-linux-musl", "x86_64"), "arm64": ("aarch64-linux-musl", "aarch64")}

# distroless' own files (GoogleContainerTools/distroless common/ and static/).
DISTROLESS_PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""
DISTROLESS_GROUP = """\
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
"""
DISTROLESS_NSSWITCH = """\
passwd:         compat
group:          compat
shadow:         compat
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
"""
DISTROLESS_OS_RELEASE = """\
PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="13"
VERSION="Debian GNU/Linux 13 (trixie)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
VARIANT="stagekit stand-in"
"""


@dataclass(frozen=True)
class DebPackages(Layer):
    """Named packages unpacked as they are (no dependencies, no maintainer scripts).

    ``distroless_root`` adds what distroless' bottom layer has besides packages: passwd/group
    with nonroot (65532), homes, /tmp 1777, nsswitch.conf, os-release, the CA bundle and the
    merged-/usr symlinks. ``aliases`` are extra symlinks (path -> target).
    """

    packages: tuple[str, ...] = ()
    distroless_root: bool = False
    aliases: tuple[tuple[str, str], ...] = ()
    revision: ClassVar[int] = 1

    def deb_packages(self) -> tuple[str, ...]:
        return self.packages + (("ca-certificates",) if self.distroless_root else ())

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        ctx.log(f"unpacking {self.name}: {' '.join(self.packages)}")
        with LayerWriter(out) as writer:
            if self.distroless_root:
                self._root_files(writer, ctx)
            for path, target in self.aliases:
                writer.add_symlink(path, target)
            for package in self.packages:
                deb = ctx.debs.get(package)
                writer.add_file(f"var/lib/dpkg/status.d/{package}", deb_control(deb))
                add_deb(writer, deb)
        return {}

    @staticmethod
    def _root_files(writer: LayerWriter, ctx: BuildContext) -> None:
        for name in USR_MERGED:
            writer.add_dir(f"usr/{name}")
            writer.add_symlink(name, f"usr/{name}")
        writer.add_dir("root", mode=0o700)
        writer.add_dir("home")
        writer.add_dir("home/nonroot", mode=0o700, uid=65532, gid=65532)
        writer.add_dir("tmp", mode=0o1777)
        writer.add_file("etc/passwd", DISTROLESS_PASSWD.encode())
        writer.add_file("etc/group", DISTROLESS_GROUP.encode())
        writer.add_file("etc/nsswitch.conf", DISTROLESS_NSSWITCH.encode())
        writer.add_file("etc/os-release", DISTROLESS_OS_RELEASE.encode())
        certs = ctx.debs.get("ca-certificates")
        writer.add_file("etc/ssl/certs/ca-certificates.crt", ca_bundle(certs))
        writer.add_file("var/lib/dpkg/status.d/ca-certificates", deb_control(certs))


def _busybox_binary(ctx: BuildContext) -> tuple[bytes, list[str]]:
    """Debian's static busybox and the paths of its applets (``busybox --list-full``)."""
    binary = deb_file(ctx.debs.get("busybox-static"), "usr/bin/busybox")
    folder = Path(tempfile.mkdtemp(prefix="busybox-", dir=ctx.paths.work))
    try:
        # busybox picks the applet from argv[0]: the file must be called busybox. A foreign
        # (arm64) busybox runs here under QEMU through binfmt.
        program = folder / "busybox"
        program.write_bytes(binary)
        program.chmod(0o755)
        listing = run([str(program), "--list-full"], timeout=30).stdout.split()
        # linuxrc is busybox's init for initramfs images; no container image has it.
        listing = [path for path in listing if Path(path).name != "linuxrc"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return binary, listing


@dataclass(frozen=True)
class Busybox(Layer):
    """distroless' debug layer: busybox at /busybox/busybox with every applet beside it."""

    package: str = "busybox-static"
    revision: ClassVar[int] = 2

    def deb_packages(self) -> tuple[str, ...]:
        return (self.package,)

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        binary, applets = _busybox_binary(ctx)
        with LayerWriter(out) as writer:
            writer.add_file("busybox/busybox", binary, mode=0o755)
            for applet in sorted({Path(path).name for path in applets} - {"busybox"}):
                writer.add_symlink(f"busybox/{applet}", "/busybox/busybox")
        return {}


ALPINE_PASSWD = """\
root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin
cron:x:16:16:cron:/var/spool/cron:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
games:x:35:35:games:/usr/games:/sbin/nologin
ntp:x:123:123:NTP:/var/empty:/sbin/nologin
guest:x:405:100:guest:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
"""
ALPINE_GROUP = """\
root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
sys:x:3:root,bin
adm:x:4:root,daemon
tty:x:5:
disk:x:6:root
lp:x:7:lp
kmem:x:9:
wheel:x:10:root
floppy:x:11:root
mail:x:12:mail
news:x:13:news
uucp:x:14:uucp
cron:x:16:cron
audio:x:18:
cdrom:x:19:
dialout:x:20:root
ftp:x:21:
sshd:x:22:
input:x:23:
tape:x:26:root
video:x:27:root
netdev:x:28:
kvm:x:34:kvm
games:x:35:
shadow:x:42:
www-data:x:82:
users:x:100:games
ntp:x:123:
abuild:x:300:
utmp:x:406:
ping:x:999:
nogroup:x:65533:
nobody:x:65534:
"""


@dataclass(frozen=True)
class AlpineRoot(Layer):
    """An alpine-shaped root from Debian parts: static busybox, musl, CA bundle, passwd.

    No apk and no Alpine packages: it serves release stages that copy a static binary in.
    """

    release: str = "3.22"
    revision: ClassVar[int] = 2

    def deb_packages(self) -> tuple[str, ...]:
        return ("busybox-static", "musl", "ca-certificates", "netbase")

    def build(self, ctx: BuildContext, out: Path) -> dict[str, str]:
        binary, applets = _busybox_binary(ctx)
        triplet, machine = MUSL[self.arch]
        musl = deb_file(ctx.debs.get("musl"), f"usr/lib/{triplet}/libc.so")
        netbase = ctx.debs.get("netbase")
        with LayerWriter(out) as writer:
            for name in (
                "bin",
                "sbin",
                "lib",
                "etc",
                "dev",
                "proc",
                "sys",
                "run",
                "home",
                "media",
                "mnt",
                "opt",
                "srv",
                "usr",
                "usr/bin",
                "usr/sbin",
                "usr/lib",
                "usr/local",
                "usr/local/bin",
                "usr/local/lib",
                "usr/local/share",
                "usr/share",
                "var",
                "var/cache",
                "var/lib",
                "var/log",
                "var/spool",
                "var/opt",
                "var/mail",
                "etc/ssl",
                "etc/ssl/certs",
            ):
                writer.add_dir(name)
            writer.add_dir("root", mode=0o700)
            writer.add_dir("tmp", mode=0o1777)
            writer.add_dir("var/tmp", mode=0o1777)
            writer.add_dir("var/empty", mode=0o555)
            writer.add_file("bin/busybox", binary, mode=0o755)
            for path in sorted(set(applets) - {"bin/busybox"}):
                writer.add_symlink(path, "/bin/busybox")
            writer.add_file(f"lib/ld-musl-{machine}.so.1", musl, mode=0o755)
            writer.add_symlink(f"lib/libc.musl-{machine}.so.1", f"ld-musl-{machine}.so.1")
            writer.add_file(
                "etc/ssl/certs/ca-certificates.crt", ca_bundle(ctx.debs.get("ca-certificates"))
            )
            writer.add_symlink("etc/ssl/cert.pem", "certs/ca-certificates.crt")
            writer.add_file("etc/passwd", ALPINE_PASSWD.encode())
            writer.add_file("etc/group", ALPINE_GROUP.encode())
            writer.add_file("etc/shadow", b"root:*::0:::::\n", mode=0o640, gid=42)
            writer.add_file("etc/shells", b"# valid login shells\n/bin/sh\n/bin/ash\n")
            writer.add_file("etc/hostname", b"localhost\n")
            writer.add_file("etc/alpine-release", f"{self.release}.0\n".encode())
            writer.add_file(
                "etc/os-release",
                (
                    'NAME="Alpine Linux"\nID=alpine\n'
                    f"VERSION_ID={self.release}.0\n"
                    f'PRETTY_NAME="Alpine Linux v{self.release} (stagekit stand-in: Debian '
                    'busybox-static and musl)"\n'
                    'HOME_URL="https://alpinelinux.org/"\n'
                ).encode(),
            )
            writer.add_file(
                "etc/profile",
                b'export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
                b'/sbin:/bin"\numask 022\n',
            )
            for member, data in deb_members(netbase):
                if member.isreg() and member.name.lstrip("./") in ("etc/services", "etc/protocols"):
                    writer.add(member, data)
        return {}
