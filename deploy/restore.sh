#!/bin/sh
# Restore a node from deploy/backup.sh's directory, with every process of the node STOPPED:
#   deploy/restore.sh BACKUP_DIRECTORY
# DATABASE_URL must name an EMPTY database (create it first); ODR_DATA_DIR and ODR_KEYS_DIR
# (default $ODR_DATA_DIR/keys) receive the files. Then start the node and follow
# docs/operations.md, "Restoring a node" (partners send again what they sent since the backup).
set -eu
: "${DATABASE_URL:?DATABASE_URL is required}"
: "${ODR_DATA_DIR:?ODR_DATA_DIR is required}"
source_dir="${1:?usage: restore.sh BACKUP_DIRECTORY}"
keys="${ODR_KEYS_DIR:-$ODR_DATA_DIR/keys}"
umask 077

(cd "$source_dir" && sha256sum --check --quiet SHA256SUMS)
pg_restore --no-owner --no-acl --exit-on-error --single-transaction \
  --dbname "$DATABASE_URL" "$source_dir/database.dump"
mkdir -p "$ODR_DATA_DIR"
rm -rf "$ODR_DATA_DIR/private"
tar -C "$ODR_DATA_DIR" -xf "$source_dir/private.tar"
mkdir -p "$keys"
chmod 700 "$keys"
tar -C "$keys" -xf "$source_dir/keys.tar"
find "$keys" -type f -name '*.jwk.json' -exec chmod 600 {} +
grep '^started=' "$source_dir/MANIFEST" | sed 's/^started=/backup taken at /'
