#!/bin/sh
# The python:3.13-alpine stand-in's CPython (tests/engine/muslpython.py runs it in a Debian
# trixie build root with gcc, musl-dev, the kernel headers, perl, tcl, autotools and tzdata).
# It builds each library an extension module needs as a static PIC archive in $DEPS, then the
# interpreter, a shared libpython and the modules under /usr/local, the way docker-library's
# python:3.13-alpine Dockerfile does, and copies /usr/local and the zoneinfo database to OUT.
# Usage: musl-python.sh SRC OUT  (SRC holds Debian's orig tarballs)
set -eu
SRC=$1
OUT=$2
WORK=/build
DEPS=/opt/musl-deps
LOGS=$WORK/logs
JOBS=2
mkdir -p "$WORK" "$DEPS/include" "$DEPS/lib" "$LOGS"

# musl-gcc sees only musl's headers; the kernel's (uapi, libc-neutral, what Alpine's
# linux-headers package holds) go in a directory of their own so glibc's stay out of sight.
KH=/opt/kernel-headers
mkdir -p "$KH"
for d in linux asm-generic mtd rdma scsi sound video xen misc drm bluetooth; do
    if [ -e "/usr/include/$d" ]; then ln -sfn "/usr/include/$d" "$KH/$d"; fi
done
ln -sfn /usr/include/x86_64-linux-gnu/asm "$KH/asm"

# A `gcc` that targets musl, as Alpine's does: musl's headers and the kernel's, musl's loader.
# It answers --print-multiarch as Alpine's gcc does (with nothing): CPython's configure stops
# when the answer (x86_64-linux-gnu from Debian's gcc) differs from the triplet it derived.
# Being called gcc, it is also what the interpreter's sysconfig records as its compiler.
mkdir -p /opt/musl-cc
cat >/opt/musl-cc/gcc <<WRAPPER
#!/bin/sh
[ "\$1" = --print-multiarch ] && exit 0
exec /usr/bin/gcc -isystem $KH "\$@" -specs /usr/lib/x86_64-linux-musl/musl-gcc.specs
WRAPPER
chmod 755 /opt/musl-cc/gcc
export PATH="/opt/musl-cc:$PATH"
export CC=gcc
export CFLAGS="-O2 -fPIC"
export CPPFLAGS="-I$DEPS/include"
export LDFLAGS="-L$DEPS/lib"
# Only the musl builds: the root's pkg-config would report glibc's libraries.
export PKG_CONFIG_LIBDIR=$DEPS/lib/pkgconfig
export PKG_CONFIG_PATH=

configure_static() {
    ./configure --prefix="$DEPS" --disable-shared --enable-static --with-pic "$@"
}

unpack() { # name tarball-pattern
    rm -rf "${WORK:?}/$1"
    mkdir "$WORK/$1"
    # shellcheck disable=SC2086 # the pattern is meant to expand (the version is not named)
    set -- "$1" "$SRC"/$2
    tar -xf "$2" -C "$WORK/$1" --strip-components=1
    cd "$WORK/$1"
}

step() { # name command...: output to a log, shown when it fails
    name=$1
    shift
    start=$(date +%s)
    # Started apart, not as an if-condition, so that `set -e` holds inside it.
    ("$@") >"$LOGS/$name.log" 2>&1 &
    if ! wait $!; then
        echo "musl-python: $name failed; its log ends:" >&2
        tail -n 40 "$LOGS/$name.log" >&2
        return 1
    fi
    echo "musl-python: $name $(($(date +%s) - start)) s"
}

zlib() {
    unpack zlib 'zlib_*.orig.tar.[gx]z'
    ./configure --prefix="$DEPS" --static
    make -j"$JOBS" libz.a
    make install
}
bzip2() {
    unpack bzip2 'bzip2_*.orig.tar.[gx]z'
    make -j"$JOBS" CC=gcc CFLAGS="$CFLAGS -D_FILE_OFFSET_BITS=64" libbz2.a
    cp libbz2.a "$DEPS/lib/"
    cp bzlib.h "$DEPS/include/"
}
xz() {
    unpack xz 'xz-utils_*.orig.tar.[gx]z'
    configure_static --disable-xz --disable-xzdec --disable-lzmadec --disable-lzmainfo \
        --disable-scripts --disable-doc --disable-nls
    make -j"$JOBS" -C src/liblzma
    make -C src/liblzma install
}
libffi() {
    unpack libffi 'libffi_*.orig.tar.[gx]z'
    autoreconf -fi >/dev/null
    configure_static --disable-docs --disable-multi-os-directory
    # The git tree's top-level Makefile wraps one in a directory named after the host triple.
    make -j"$JOBS" -C ./*-linux-musl
    make -C ./*-linux-musl install
}
sqlite() {
    unpack sqlite 'sqlite3_*.orig.tar.xz'
    # The options Alpine's sqlite package enables that Python's module can reach (each step runs
    # in a subshell of its own: the export ends with it).
    export CFLAGS="$CFLAGS -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS \
-DSQLITE_ENABLE_FTS4 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE -DSQLITE_ENABLE_COLUMN_METADATA \
-DSQLITE_ENABLE_MATH_FUNCTIONS -DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_UNLOCK_NOTIFY \
-DSQLITE_USE_URI"
    configure_static --disable-tcl --disable-readline --disable-editline
    make -j"$JOBS" libsqlite3.la
    cp .libs/libsqlite3.a "$DEPS/lib/"
    cp sqlite3.h sqlite3ext.h "$DEPS/include/"
    cp sqlite3.pc "$DEPS/lib/pkgconfig/"
}
openssl() {
    unpack openssl 'openssl_*.orig.tar.[gx]z'
    # Alpine's openssl looks for its configuration and CA bundle under /etc/ssl.
    ./Configure linux-x86_64 no-shared no-tests no-docs no-afalgeng no-module \
        --prefix="$DEPS" --libdir=lib --openssldir=/etc/ssl
    make -j"$JOBS" build_libs
    make install_dev
}
ncurses() {
    unpack ncurses 'ncurses_*.orig.tar.[gx]z'
    ./configure --prefix="$DEPS" --without-shared --with-normal --without-debug --without-cxx \
        --without-cxx-binding --without-ada --without-progs --without-tests --without-manpages \
        --enable-widec --enable-pc-files --with-pkg-config-libdir="$DEPS/lib/pkgconfig" \
        --with-terminfo-dirs=/etc/terminfo:/usr/share/terminfo \
        --with-default-terminfo-dir=/usr/share/terminfo
    make -j"$JOBS" libs
    make install.libs install.includes
}
readline() {
    unpack readline 'readline_*.orig.tar.[gx]z'
    configure_static --with-curses --disable-install-examples
    make -j"$JOBS" static
    make install-static install-headers
    # readline's own .pc names ncurses; Python links it through -lreadline -lncursesw.
}
libuuid() {
    unpack util-linux 'util-linux_*.orig.tar.[gx]z'
    configure_static --disable-all-programs --enable-libuuid --without-systemd \
        --without-python --disable-nls --disable-bash-completion --without-tinfo \
        --without-ncurses --without-ncursesw --disable-asciidoc --disable-poman
    make -j"$JOBS" libuuid.la
    make install-usrlib_execLTLIBRARIES install-uuidincHEADERS install-pkgconfigDATA
}
gdbm() {
    unpack gdbm 'gdbm_*.orig.tar.[gx]z'
    configure_static --enable-libgdbm-compat --without-readline --disable-nls
    make -j"$JOBS" -C src libgdbm.la
    make -j"$JOBS" -C compat libgdbm_compat.la
    make -C src install-libLTLIBRARIES install-nodist_includeHEADERS
    make -C compat install-libLTLIBRARIES install-compatincludeHEADERS
    # CPython links _dbm with -lgdbm_compat alone (right for the shared library Alpine has): the
    # static one carries libgdbm's objects too.
    mkdir gdbm-objects
    (cd gdbm-objects && ar x "$DEPS/lib/libgdbm.a" && ar rs "$DEPS/lib/libgdbm_compat.a" ./*.o)
}

python() {
    unpack python 'python3.13_*.orig.tar.xz'
    # docker-library's configure line for python:3.13-alpine, less --enable-optimizations and
    # --with-lto (PGO and LTO: their run time is outside the stand-in's budget), with the test
    # modules left out (the official image deletes the test package after installing) and the
    # libraries above named.
    ./configure --build=x86_64-linux-musl --prefix=/usr/local \
        --enable-loadable-sqlite-extensions --enable-option-checking=fatal --enable-shared \
        --with-ensurepip --disable-test-modules --with-openssl="$DEPS" \
        --without-system-libmpdec CFLAGS=-O2 \
        LIBREADLINE_CFLAGS="-I$DEPS/include" LIBREADLINE_LIBS="-L$DEPS/lib -lreadline -lncursesw" \
        CURSES_CFLAGS="-I$DEPS/include/ncursesw" PANEL_CFLAGS="-I$DEPS/include/ncursesw"
    # musl's default thread stack (128 KiB) is too small for CPython's recursion limit; the
    # official image raises it the same way.
    extra=-DTHREAD_STACK_SIZE=0x100000
    make -j"$JOBS" EXTRA_CFLAGS="$extra" LDFLAGS="$LDFLAGS -Wl,--strip-all"
    # The interpreter finds its libpython next to it, as upstream's does.
    rm python
    make -j"$JOBS" EXTRA_CFLAGS="$extra" \
        LDFLAGS="$LDFLAGS -Wl,--strip-all -Wl,-rpath='\$\$ORIGIN/../lib'" python
    make install
    find /usr/local -depth \
        \( \( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
        -o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \) \
        -exec rm -rf '{}' +
    for name in idle3 pip3 pydoc3 python3 python3-config; do
        ln -svT "$name" "/usr/local/bin/$(echo "$name" | tr -d 3)"
    done
}

# Two lanes keep both cores busy through the serial configure steps.
(step openssl openssl) &
lane=$!
step zlib zlib
step bzip2 bzip2
step xz xz
step libffi libffi
step sqlite sqlite
step ncurses ncurses
step readline readline
step libuuid libuuid
step gdbm gdbm
wait "$lane"
step python python
# What the image gets: the install, the time zones Alpine's tzdata package provides, and the
# common terminal descriptions where Alpine's ncurses-terminfo-base keeps them (Debian's
# ncurses-base set: xterm, linux, vt100, screen, ...; curses' setupterm needs them).
mkdir -p "$OUT/usr/share" "$OUT/etc"
cp -a /usr/local "$OUT/usr/"
cp -a /usr/share/zoneinfo "$OUT/usr/share/"
cp -a /usr/share/terminfo "$OUT/etc/terminfo"
