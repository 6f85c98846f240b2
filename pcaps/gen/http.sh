#!/usr/bin/env bash
# http.sh - captures for the plaintext-HTTP dissector (pcaps/http/*.pcap).
#
# Run through pcaps/regen.sh (or directly: bash pcaps/gen/http.sh) as root on Debian 12.
# Needs the Debian packages: nginx (or nginx-light) tcpdump tshark curl openssl python3
# iproute2. Installs nothing.
#
# Servers (started and stopped by PID, private temp dir, nothing on a wildcard address):
#   nginx with pcaps/gen/nginx-http.conf on 127.0.80.1:80, :8080, :443 (TLS) and [::1]:80,
#     virtual hosts www./shop./plain.netzwacht.test (".test" is reserved, RFC 6761);
#   pcaps/gen/nzhttpd.py on 127.0.80.2:80 for Digest authentication (nginx has none) and the
#     multipart login form (it reads the body before answering).
# Clients: curl (--resolve pins the names to those addresses, -k accepts the self-signed
# certificate this script makes with openssl) and pcaps/gen/rawclient.py where curl cannot
# produce the bytes (pipelining, user:pass@ in an absolute-form request target).
# Credentials used everywhere: alice / hunter2.
# Each capture is one tcpdump -i lo run filtered on the server address; each is checked with
# tshark display filters (nz_assert_frames) so a capture that lacks its point fails the run.
# Expectations: pcaps/expected/http/<capture>.conv.txt (tshark -q -z conv,tcp).
. "$(dirname "$0")/common.sh"
nz_init http
nz_need nginx:nginx tcpdump:tcpdump tshark:tshark curl:curl openssl:openssl ss:iproute2 \
    python3:python3
nz_versions kernel debian tcpdump tshark curl nginx openssl python3

NGX=127.0.80.1
PYD=127.0.80.2
www=$NZ_TMP/www
mkdir -p "$www/private" "$www/chunked"

# ---------------------------------------------------------------- content (deterministic)
cat >"$www/index.html" <<'EOF'
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>netzwacht test site</title></head>
<body>
<h1>netzwacht test site</h1>
<form method="post" action="/login">
  <label>user <input name="username"></label>
  <label>password <input type="password" name="password"></label>
  <button>log in</button>
</form>
<p><a href="/private/">members only</a></p>
</body>
</html>
EOF
cat >"$www/robots.txt" <<'EOF'
User-agent: *
Disallow: /private/
EOF
cat >"$www/style.css" <<'EOF'
body { font-family: sans-serif; margin: 2em; }
h1 { color: #225; }
EOF
cat >"$www/private/index.html" <<'EOF'
<!DOCTYPE html>
<html lang="en"><head><title>private</title></head>
<body><p>hello alice, this page needs a password.</p></body></html>
EOF
{
    printf '<!DOCTYPE html>\n<html lang="en"><head><title>chunked</title></head>\n<body>\n'
    for i in $(seq 1 40); do printf '<p>line %02d of a page that nginx sends chunked</p>\n' "$i"; done
    printf '</body></html>\n'
} >"$www/chunked/index.html"
nz_mtime "$www"/*.* "$www"/*/*.*
chmod -R a+rX "$www"

# htpasswd for Basic auth (apr1, fixed salt: the file is the same on every run)
printf 'alice:%s\n' "$(openssl passwd -apr1 -salt nzsalt01 hunter2)" >"$NZ_TMP/htpasswd"
chmod 644 "$NZ_TMP/htpasswd"

# self-signed certificate for shop./plain.netzwacht.test (new key on every run)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj /CN=shop.netzwacht.test \
    -addext subjectAltName=DNS:shop.netzwacht.test,DNS:plain.netzwacht.test \
    -keyout "$NZ_TMP/tls.key" -out "$NZ_TMP/tls.crt" 2>/dev/null

sed -e "s|@TMP@|$NZ_TMP|g" -e "s|@WWW@|$www|g" "$NZ_GEN/nginx-http.conf" >"$NZ_TMP/nginx.conf"

# ---------------------------------------------------------------- servers
for p in 80 8080 443; do nz_port_free - "$p" "$NGX"; done
nz_port_free - 80 ::1
nz_port_free - 80 "$PYD"
nginx -t -q -p "$NZ_TMP" -e "$NZ_TMP/error.log" -c "$NZ_TMP/nginx.conf" \
    || nz_die "nginx rejects the generated configuration"
nz_spawn NGINX "$NZ_TMP/nginx.out" nginx -p "$NZ_TMP" -e "$NZ_TMP/error.log" -c "$NZ_TMP/nginx.conf"
for p in 80 8080 443; do nz_wait_listen - "$p" 10 "$NGX"; done
nz_wait_listen - 80 10 ::1
nz_log "nginx pid $NGINX on $NGX:80,8080,443 and [::1]:80"

nz_spawn PYSRV "$NZ_TMP/nzhttpd.log" "$NZ_PY" "$NZ_GEN/nzhttpd.py" --root "$www" \
    --bind "$PYD:80" --ready "$NZ_TMP/nzhttpd.ready"
nz_wait_log "$NZ_TMP/nzhttpd.ready" '^ready'
nz_log "nzhttpd pid $PYSRV on $PYD:80"

W=www.netzwacht.test
RES=(--resolve "$W:80:$NGX" --resolve "$W:8080:$NGX"
     --resolve "shop.netzwacht.test:80:$NGX" --resolve "shop.netzwacht.test:443:$NGX"
     --resolve "plain.netzwacht.test:80:$NGX" --resolve "plain.netzwacht.test:443:$NGX"
     --resolve "digest.netzwacht.test:80:$PYD" --resolve "app.netzwacht.test:80:$PYD")
CURL=(curl -sS --max-time 20 -o /dev/null "${RES[@]}")
FILTER_NGX="host $NGX and (tcp port 80 or tcp port 8080 or tcp port 443)"

# rec NAME FILTER: start a capture of http/NAME; done: stop it and write conv.txt
rec() {
    REL=http/$1
    nz_log "$REL"
    nz_capture_start CAP - lo "$REL" "$2"
}
done_() {
    nz_capture_stop "$CAP"
    nz_expect_conv "$REL"
}
want() { nz_assert_frames "$REL" "$@"; }

# ---------------------------------------------------------------- captures
rec http-get-post.pcap "$FILTER_NGX"
"${CURL[@]}" "http://$W/"
"${CURL[@]}" -d 'name=alice&comment=nice+site%21' "http://$W/comment"
done_
want 'http.request.method == "GET"'
want 'http.request.method == "POST" && urlencoded-form'
nz_manifest_add "$REL" recorded "curl GET / (nginx 200 text/html) and, on a second connection, a urlencoded POST /comment answered 200"

rec http-basic-auth.pcap "$FILTER_NGX"
"${CURL[@]}" "http://$W/private/"
"${CURL[@]}" -u alice:hunter2 "http://$W/private/"
done_
want 'http.response.code == 401 && http.www_authenticate contains "Basic"'
want 'http.authbasic == "alice:hunter2"'
want 'http.response.code == 200'
nz_manifest_add "$REL" recorded "GET /private/ without credentials (401, WWW-Authenticate: Basic realm=\"netzwacht private\"), then with Authorization: Basic alice:hunter2 (200)"

rec http-form-login.pcap "$FILTER_NGX"
"${CURL[@]}" -c "$NZ_TMP/jar" --data-urlencode username=alice --data-urlencode password=hunter2 \
    "http://$W/login"
"${CURL[@]}" -b "$NZ_TMP/jar" "http://$W/account"
done_
want 'urlencoded-form.key == "password" && urlencoded-form.value == "hunter2"'
want 'http.set_cookie contains "session="'
want 'http.cookie contains "session="'
nz_manifest_add "$REL" recorded "login form POST /login (application/x-www-form-urlencoded username=alice&password=hunter2) answered 302 with two Set-Cookie headers; then GET /account sending the session cookie back"

# nzhttpd, not nginx: nginx's "return" answers before the body arrives and curl then stops
# sending a multipart body (sent in a second write), so the password would never be on the wire.
rec http-form-multipart.pcap "host $PYD and tcp port 80"
"${CURL[@]}" -F username=alice -F password=hunter2 "http://app.netzwacht.test/login"
done_
want 'http.content_type contains "multipart/form-data"'
want 'mime_multipart.header.content-disposition contains "password"'
want 'http.set_cookie contains "session="'
nz_manifest_add "$REL" recorded "login form POST /login as multipart/form-data (fields username=alice, password=hunter2; headers and body in two segments) to nzhttpd.py, answered 302 with Set-Cookie"

rec http-redirect-to-https.pcap "$FILTER_NGX"
"${CURL[@]}" -k -L "http://shop.netzwacht.test/cart?id=7"
done_
want 'http.response.code == 301 && http.location == "https://shop.netzwacht.test/cart?id=7"'
want 'tls.handshake.extensions_server_name == "shop.netzwacht.test"'
nz_manifest_add "$REL" recorded "GET http://shop.netzwacht.test/cart?id=7 answered 301 Location: https://shop.netzwacht.test/cart?id=7; curl -L follows with TLS to the same host on 443 (SNI shop.netzwacht.test, self-signed EC certificate)"

rec http-no-https-redirect.pcap "$FILTER_NGX"
"${CURL[@]}" -k "https://plain.netzwacht.test/"
"${CURL[@]}" "http://plain.netzwacht.test/"
done_
want 'tls.handshake.extensions_server_name == "plain.netzwacht.test"'
want 'http.host == "plain.netzwacht.test" && http.request.method == "GET"'
want 'http.response.code == 200'
nz_manifest_add "$REL" recorded "plain.netzwacht.test seen as TLS SNI (HTTPS request on 443) and then answering plaintext GET / on port 80 with 200 instead of a redirect to HTTPS"

rec http-keepalive-chunked.pcap "$FILTER_NGX"
curl -sS --max-time 20 "${RES[@]}" -o /dev/null "http://$W/style.css" \
    -o /dev/null "http://$W/robots.txt" -o /dev/null "http://$W/chunked/"
done_
want 'http.request' 3
want 'http.transfer_encoding == "chunked"'
[ "$(nz_tshark -r "$NZ_OUT/$REL" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e frame.number | wc -l)" = 1 ] \
    || nz_die "$REL: curl opened more than one connection"
nz_manifest_add "$REL" recorded "one keep-alive connection with three requests: /style.css and /robots.txt (Content-Length) then /chunked/ (nginx sub_filter: Transfer-Encoding: chunked)"

rec http-port-8080.pcap "$FILTER_NGX"
"${CURL[@]}" "http://$W:8080/index.html"
done_
want 'tcp.dstport == 8080 && http.request'
nz_manifest_add "$REL" recorded "curl GET http://www.netzwacht.test:8080/index.html: HTTP on a non-standard port (no port hint)"

rec http-ipv6.pcap "ip6 host ::1 and tcp port 80"
curl -sS --max-time 20 -o /dev/null -g -H "Host: $W" "http://[::1]/index.html"
done_
want 'ipv6 && http.response.code == 200'
nz_manifest_add "$REL" recorded "curl GET over IPv6 loopback [::1]:80 with Host: www.netzwacht.test"

rec http-digest-auth.pcap "host $PYD and tcp port 80"
"${CURL[@]}" --digest -u alice:hunter2 "http://digest.netzwacht.test/digest/secret"
done_
want 'http.response.code == 401 && http.www_authenticate contains "Digest"'
want 'http.authorization contains "Digest username=\"alice\""'
want 'http.response.code == 200'
nz_manifest_add "$REL" recorded "Digest authentication in clear (RFC 7616, MD5, qop=auth) against nzhttpd.py: 401 challenge, then Authorization: Digest username=\"alice\" (curl --digest), 200"

rec http-url-credentials.pcap "$FILTER_NGX"
"${CURL[@]}" "http://alice:hunter2@$W/search?q=netzwacht&password=hunter2"
printf 'GET http://alice:hunter2@%s/search?user=alice&password=hunter2 HTTP/1.1\r\nHost: %s\r\nUser-Agent: rawclient.py\r\nConnection: close\r\n\r\n' \
    "$W" "$W" >"$NZ_TMP/abs-userinfo.req"
"$NZ_PY" "$NZ_GEN/rawclient.py" "$NGX" 80 "$NZ_TMP/abs-userinfo.req" >"$NZ_TMP/abs-userinfo.resp"
done_
want 'http.authbasic == "alice:hunter2" && http.request.uri contains "password=hunter2"'
want 'http.request.uri contains "alice:hunter2@"'
nz_manifest_add "$REL" recorded "curl http://alice:hunter2@www.netzwacht.test/search?q=netzwacht&password=hunter2 (curl turns user:pass@ into Authorization: Basic; the password query parameter stays in the request line), then rawclient.py sending an absolute-form request target http://alice:hunter2@.../search?user=alice&password=hunter2 (answer: $(head -1 "$NZ_TMP/abs-userinfo.resp" | tr -d '\r'))"

rec http-head-204-304.pcap "$FILTER_NGX"
curl -sS --max-time 20 "${RES[@]}" -o /dev/null -I "http://$W/index.html" \
    --next -o /dev/null "${RES[@]}" "http://$W/empty" \
    --next -o /dev/null "${RES[@]}" -z 'Tue, 01 Jun 2021 12:00:00 GMT' "http://$W/index.html" \
    --next -o /dev/null "${RES[@]}" "http://$W/robots.txt"
done_
want 'http.request.method == "HEAD"'
want 'http.response.code == 204'
want 'http.response.code == 304'
want 'http.request' 4
[ "$(nz_tshark -r "$NZ_OUT/$REL" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e frame.number | wc -l)" = 1 ] \
    || nz_die "$REL: curl opened more than one connection"
nz_manifest_add "$REL" recorded "one keep-alive connection: HEAD /index.html (200 with Content-Length but no body), GET /empty (204), conditional GET with If-Modified-Since (304), then GET /robots.txt (200 with body): bodiless responses must not swallow the next response"

rec http-pipelined.pcap "$FILTER_NGX"
printf 'GET /index.html HTTP/1.1\r\nHost: %s\r\nUser-Agent: rawclient.py\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: %s\r\nUser-Agent: rawclient.py\r\nConnection: close\r\n\r\n' \
    "$W" "$W" >"$NZ_TMP/pipelined.req"
"$NZ_PY" "$NZ_GEN/rawclient.py" "$NGX" 80 "$NZ_TMP/pipelined.req" >"$NZ_TMP/pipelined.resp"
done_
# both requests sit in one frame: count field occurrences, not frames
n_req=$(nz_tshark -r "$NZ_OUT/$REL" -Y http.request -T fields -E occurrence=a -E aggregator=' ' \
    -e http.request.method | wc -w)
n_200=$(nz_tshark -r "$NZ_OUT/$REL" -Y http.response -T fields -E occurrence=a -E aggregator=' ' \
    -e http.response.code | tr ' ' '\n' | grep -c '^200$' || true)
[ "$n_req" = 2 ] && [ "$n_200" = 2 ] || nz_die "$REL: $n_req requests / $n_200 responses 200, want 2/2"
[ "$(nz_tshark -r "$NZ_OUT/$REL" -Y 'tcp.len > 0 && tcp.dstport == 80' -T fields -e frame.number | wc -l)" = 1 ] \
    || nz_die "$REL: the two requests did not travel in one segment"
nz_manifest_add "$REL" recorded "two pipelined HTTP/1.1 requests (GET /index.html, GET /robots.txt with Connection: close) sent in one TCP segment by rawclient.py; nginx answers both in order"

nz_stop "$PYSRV"
nz_stop "$NGINX"
nz_finish
