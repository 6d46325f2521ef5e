#!/usr/bin/env bash
# tests/mkcerts.sh DIR: a test CA and server certificates for the HTTPS tests.
#
#   ca.pem                     the test CA (for "ca_file")
#   valid.{pem,key}            www.example.com + IP 127.0.0.1, a year
#   expiring.{pem,key}         expiring.example.com, expires in 2 days
#   expired.{pem,key}          expired.example.com, expired yesterday
# All are signed by the CA with EC P-256 keys (fast). "openssl ca" is used
# because OpenSSL 3.0's "x509 -req" cannot set a start date in the past.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
mkdir -p ca.db
: > ca.db/index.txt
echo 1000 > ca.db/serial
cat > ca.cnf <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $PWD/ca.db/index.txt
new_certs_dir = $PWD/ca.db
serial = $PWD/ca.db/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# stamp OFFSET_SECONDS: an ASN.1 time (YYYYMMDDHHMMSSZ) that far from now.
stamp() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y%m%d%H%M%SZ; }

key ca.key
openssl req -new -x509 -key ca.key -subj "/CN=anycast-healthd test CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -out ca.pem 2>/dev/null

# leaf NAME CN SAN START_OFFSET END_OFFSET
leaf() {
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=$2" -addext "subjectAltName=$3" \
		-out "$1.csr" 2>/dev/null
	openssl ca -config ca.cnf -batch -notext -cert ca.pem -keyfile ca.key \
		-startdate "$(stamp "$4")" -enddate "$(stamp "$5")" \
		-in "$1.csr" -out "$1.pem" 2>/dev/null
}
day=86400
leaf valid www.example.com "DNS:www.example.com,IP:127.0.0.1" -$day $((365 * day))
leaf expiring expiring.example.com "DNS:expiring.example.com" -$day $((2 * day + 3600))
leaf expired expired.example.com "DNS:expired.example.com" -$((30 * day)) -$day
