#!/bin/sh
# Makes a private CA and a NATS server certificate for deploy/nats/secure.conf (and the e2e test).
#   deploy/nats/make-certs.sh [dir] [extra SAN, e.g. DNS:nats.example.com]
# Writes ca.pem, ca-key.pem, server.pem, server-key.pem into dir (default deploy/nats/certs).
# The server certificate is valid for nats-1, nats-2, nats-3, localhost and 127.0.0.1, for server
# and client use (cluster routes may present it too). Keep ca-key.pem off the servers.
set -eu

dir=${1:-$(dirname "$0")/certs}
extra=${2:+,$2}
days=${CERT_DAYS:-825}
mkdir -p "$dir"
cd "$dir"
umask 077

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=realtime NATS CA" -keyout ca-key.pem -out ca.pem 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=nats" -keyout server-key.pem -out server.csr 2>/dev/null

cat > server.ext <<EXT
subjectAltName=DNS:nats-1,DNS:nats-2,DNS:nats-3,DNS:localhost,IP:127.0.0.1${extra}
extendedKeyUsage=serverAuth,clientAuth
keyUsage=digitalSignature,keyEncipherment
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days "$days" \
  -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
# The certificates are public; the keys stay readable by their owner only (umask 077).
chmod 644 ca.pem server.pem
echo "certificates in $dir: ca.pem (give it to clients: NATS_TLS_CA_FILE), server.pem, server-key.pem"
