#!/bin/sh
# The dependency recipe the Dockerfile's `recipe` stage builds the dependencies from, as
# cargo-chef's planner makes one: Cargo.toml and Cargo.lock of the current directory with the
# package's own name, version and description replaced by fixed values and comments dropped, and
# stub sources, under DEST. Renaming the package, bumping its version or editing a comment then
# leaves the recipe, and so the compiled dependencies, as they were. A single package only; a
# workspace needs cargo-chef itself.
#   sh docker/cargo-recipe.sh DEST
set -eu
dest="${1:?usage: cargo-recipe.sh DEST}"
mkdir -p "$dest/src"

# The package's own name: the `name` key of the [package] table.
pkg="$(awk -F'"' '/^\[/ { s = $0 } s == "[package]" && /^name *=/ { print $2; exit }' Cargo.toml)"
if [ -z "$pkg" ]; then
  echo "cargo-recipe: no [package] name in Cargo.toml" >&2
  exit 1
fi

# Cargo.toml: a fixed [package] table, then every other table except [lib] and the targets'
# ([[bin]], [[test]], ...), without comments or blank lines.
{
  printf '[package]\nname = "app"\nversion = "0.0.0"\nedition = "2024"\n\n'
  awk '
    /^\[/ { skip = ($0 ~ /^\[(package|lib)\]/ || $0 ~ /^\[\[(bin|test|bench|example)\]\]/) }
    !skip && !/^[ \t]*(#|$)/
  ' Cargo.toml
} > "$dest/Cargo.toml"

# Cargo.lock: every entry as it is, the package's own moved to the end (--locked accepts that)
# under the fixed name and version.
awk -v own="name = \"$pkg\"" '
  BEGIN { RS = ""; ORS = "\n\n" }
  index($0 "\n", "\n" own "\n") { root = $0; next }
  { print }
  END {
    sub(/\nname = "[^"]*"\nversion = "[^"]*"/, "\nname = \"app\"\nversion = \"0.0.0\"", root)
    printf "%s\n", root
  }
' Cargo.lock > "$dest/Cargo.lock"

echo 'fn main() {}' > "$dest/src/main.rs"
touch "$dest/src/lib.rs"
