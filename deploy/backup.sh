#!/bin/sh
# Back up a node: its database (pg_dump), its private files (evidence, MoU documents) and keys.
#   deploy/backup.sh DIRECTORY      → DIRECTORY/odr-<node>-<UTC time>/
# Reads DATABASE_URL, ODR_NODE, ODR_DATA_DIR and ODR_KEYS_DIR (default $ODR_DATA_DIR/keys) from
# the environment, as the node does. Runs while the node runs. The database is dumped FIRST, then
# the files: every file the dump refers to was written before the dump began, so it is in the
# archive (files written later are extra, never missing). The result holds private keys and
# personal data: store it encrypted (e.g. age or gpg) and apart from the node.
set -eu
: "${DATABASE_URL:?DATABASE_URL is required}"
: "${ODR_DATA_DIR:?ODR_DATA_DIR is required}"
: "${ODR_NODE:?ODR_NODE is required}"
keys="${ODR_KEYS_DIR:-$ODR_DATA_DIR/keys}"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
target="${1:?usage: backup.sh DIRECTORY}/odr-$(printf '%s' "$ODR_NODE" | tr '[:upper:]' '[:lower:]')-$(date -u +%Y%m%dT%H%M%SZ)"
umask 077
mkdir -p "$target"

pg_dump --format=custom --no-owner --no-acl --file "$target/database.dump" "$DATABASE_URL"
mkdir -p "$ODR_DATA_DIR/private"
tar -C "$ODR_DATA_DIR" -cf "$target/private.tar" private
if [ -d "$keys" ]; then
  tar -C "$keys" -cf "$target/keys.tar" .
else
  tar -cf "$target/keys.tar" --files-from /dev/null
fi
{
  echo "node=$ODR_NODE"
  echo "started=$started"
  echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$target/MANIFEST"
(cd "$target" && sha256sum database.dump private.tar keys.tar MANIFEST > SHA256SUMS)
echo "$target"
