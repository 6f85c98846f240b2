/* check_inputs.c — Check suite for how `analyze` reads its inputs and records them:
 *  - capture/source.c: an input is opened once and judged by fstat on its descriptor (regular
 *    file, FIFO, device); a file found by a folder walk is opened beneath the folder without
 *    following links and must be the (device, inode) the walk saw; the pre-key and the hash
 *    read the descriptor; a damaged gzip stream delivers every packet before the damage;
 *  - store_file_finish_run(): a run's files are recorded in the transaction that marks it
 *    finished, all or nothing (also beyond STORE_BATCH_ROWS files), and a clash with another
 *    run that recorded the same file meanwhile removes or refuses the run;
 *  - the content hash: our BLAKE3 (engine/blake3.c) against the official test vectors and
 *    b3sum's output, every kernel this CPU has (AVX-512, AVX2, portable), whole and fed in
 *    pieces; dedup_hash() of files against b3sum, Python's hashlib.blake2b and sha256sum;
 *    a schema v6 database's BLAKE2b rows still recognised (and only by their content).
 * Files live in a fresh mkdtemp() directory removed at the end of each test. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "capture/source.h"
#include "engine/blake3.h"
#include "engine/dedup.h"
#include "store/migrate.h"
#include "store/store.h"
#include "tests/testutil.h"

/* ---- helpers ---- */

struct tdir {
    char dir[64];
};

static void tdir_make(struct tdir *t)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/nzinXXXXXX", tmp && tmp[0] && strlen(tmp) < 40 ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(p);
    else
        unlink(p);
    return 0;
}

static void tdir_remove(struct tdir *t) { nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static uint8_t *fixture(const char *rel, size_t *len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/pcaps/%s", tu_srcdir(), rel);
    uint8_t *b = tu_read_file(p, len);
    ck_assert_msg(b != NULL, "cannot read %s", p);
    return b;
}

/* gzip of data (zlib's deflate with the gzip wrapper). Caller frees. */
static uint8_t *gzip_of(const uint8_t *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uLong cap = deflateBound(&zs, (uLong)len);
    uint8_t *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/* Packets cap_open_file() delivers from path; *rc_out = the last cap_next() result. */
static long count_packets(const char *path, int *rc_out, char eb[CAP_ERRBUF])
{
    int err = 0;
    struct cap_source *s = cap_open_file(path, NULL, eb, &err);
    if (!s) {
        *rc_out = -2;
        return -1;
    }
    struct cap_pkt p;
    long n = 0;
    int rc;
    while ((rc = cap_next(s, &p, eb)) == 1)
        n++;
    cap_close(s);
    *rc_out = rc;
    return n;
}

/* Complete records of a plain pcap (the oracle for what is before the damage). */
static long pcap_records(const uint8_t *b, size_t len)
{
    if (len < 24)
        return 0;
    bool le = b[0] == 0xd4;
    size_t off = 24;
    long n = 0;
    while (off + 16 <= len) {
        const uint8_t *c = b + off + 8;
        uint32_t caplen = le ? (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24
                             : (uint32_t)c[3] | (uint32_t)c[2] << 8 | (uint32_t)c[1] << 16 | (uint32_t)c[0] << 24;
        if (caplen > 262144 || off + 16 + caplen > len)
            break;
        off += 16 + caplen;
        n++;
    }
    return n;
}

/* ---- capture/source.c ---- */

START_TEST(test_gzip_damage)
{
    struct tdir t;
    tdir_make(&t);
    size_t len, glen;
    uint8_t *raw = fixture("loss-netns-server-side.pcap", &len);
    uint8_t *gz = gzip_of(raw, len, &glen);
    long total = pcap_records(raw, len);
    ck_assert_int_gt(total, 100);
    char path[128], eb[CAP_ERRBUF];
    int rc;
    snprintf(path, sizeof path, "%s/x.pcap.gz", t.dir);

    /* intact: all, end of file */
    write_file(path, gz, glen);
    ck_assert_int_eq(count_packets(path, &rc, eb), total);
    ck_assert_int_eq(rc, 0);

    /* CRC flipped in the trailer: every packet, then an error naming the damage */
    gz[glen - 8] ^= 0xff;
    write_file(path, gz, glen);
    ck_assert_int_eq(count_packets(path, &rc, eb), total);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(strstr(eb, "x.pcap.gz"));
    ck_assert_ptr_nonnull(strstr(eb, "damaged gzip stream"));
    gz[glen - 8] ^= 0xff;

    /* truncated in the middle: the complete records of what inflates, then an error */
    write_file(path, gz, glen / 2);
    long n = count_packets(path, &rc, eb);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, total);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(strstr(eb, "truncated gzip stream"));

    /* trailer missing: every packet, but the end of the stream is not proven: an error */
    write_file(path, gz, glen - 8);
    ck_assert_int_eq(count_packets(path, &rc, eb), total);
    ck_assert_int_eq(rc, -1);

    /* cut inside the gzip header: a clear error at open, not a crash */
    write_file(path, gz, 5);
    ck_assert_int_eq(count_packets(path, &rc, eb), -1);
    ck_assert_ptr_nonnull(strstr(eb, "gzip"));

    /* two members (gzip a; gzip b >> a): one stream, as gzip -d reads it */
    size_t g2len;
    uint8_t *g2 = gzip_of(raw, len, &g2len);
    uint8_t *two = malloc(glen + g2len);
    ck_assert_ptr_nonnull(two);
    memcpy(two, gz, glen);
    memcpy(two + glen, g2, g2len);
    write_file(path, two, glen + g2len);
    /* The second member repeats the pcap header, which libpcap reads as a record: what
     * matters here is that the first member's packets all arrive and nothing crashes. */
    ck_assert_int_ge(count_packets(path, &rc, eb), total);
    free(two);
    free(g2);
    free(gz);
    free(raw);
    tdir_remove(&t);
}
END_TEST

START_TEST(test_input_kinds)
{
    struct tdir t;
    tdir_make(&t);
    char path[128], eb[CAP_ERRBUF];
    int err = 0;
    size_t len;
    uint8_t *raw = fixture("http-get-ipv4.pcap", &len);
    snprintf(path, sizeof path, "%s/a.pcap", t.dir);
    write_file(path, raw, len);

    struct cap_input *in = cap_input_open(path, NULL, eb, &err);
    ck_assert_ptr_nonnull(in);
    ck_assert(!cap_input_is_stream(in));
    ck_assert_uint_eq(cap_input_size(in), len);
    char q[65], h1[65], h2[65];
    uint64_t sz = 0;
    ck_assert_int_eq(dedup_quickkey(in, q, &sz), 0);
    ck_assert_uint_eq(sz, len);
    ck_assert_int_eq(dedup_hash(in, DEDUP_HASH_BLAKE3, h1, &sz), 0);
    ck_assert_uint_eq(sz, len);
    /* The analysis and the hash read one descriptor: unlinking or replacing the path after
     * the open changes nothing. */
    struct cap_source *s = cap_open_input(in, NULL, eb, &err);
    ck_assert_ptr_nonnull(s);
    unlink(path);
    write_file(path, "replaced", 8);
    ck_assert_int_eq(dedup_hash(in, DEDUP_HASH_BLAKE3, h2, &sz), 0);
    ck_assert_str_eq(h1, h2);
    struct cap_pkt p;
    long n = 0;
    while (cap_next(s, &p, eb) == 1)
        n++;
    ck_assert_int_eq(n, pcap_records(raw, len));
    cap_close(s);
    cap_input_close(in);

    /* a file written to while it is read is noticed (size, mtime, ctime) */
    snprintf(path, sizeof path, "%s/grow.pcap", t.dir);
    write_file(path, raw, len);
    in = cap_input_open(path, NULL, eb, &err);
    ck_assert_ptr_nonnull(in);
    ck_assert(!cap_input_changed(in));
    FILE *g = fopen(path, "ab");
    ck_assert_ptr_nonnull(g);
    fputc(0, g);
    fclose(g);
    ck_assert(cap_input_changed(in));
    cap_input_close(in);
    in = cap_input_open(path, NULL, eb, &err);
    ck_assert_ptr_nonnull(in);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {12345, 0}}; /* only the mtime, as `touch -d` */
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    ck_assert(cap_input_changed(in));
    cap_input_close(in);

    /* a FIFO is a stream: no pre-key, no hash; opening it does not wait for a writer */
    snprintf(path, sizeof path, "%s/p.pcap", t.dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    in = cap_input_open(path, NULL, eb, &err);
    ck_assert_ptr_nonnull(in);
    ck_assert(cap_input_is_stream(in));
    ck_assert_int_eq(dedup_quickkey(in, q, &sz), NZ_EUNSUPPORTED);
    ck_assert_int_eq(dedup_hash(in, DEDUP_HASH_SHA256, q, &sz), NZ_EUNSUPPORTED);
    cap_input_close(in);

    /* devices and folders are refused with their kind named */
    ck_assert_ptr_null(cap_input_open("/dev/zero", NULL, eb, &err));
    ck_assert_int_eq(err, NZ_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(eb, "character device"));
    ck_assert_ptr_null(cap_input_open(t.dir, NULL, eb, &err));
    ck_assert_int_eq(err, NZ_EUSAGE);
    ck_assert_ptr_nonnull(strstr(eb, "folder"));
    free(raw);
    tdir_remove(&t);
}
END_TEST

START_TEST(test_found_beneath)
{
    struct tdir t;
    tdir_make(&t);
    char real[128], link[128], file[192], via[192], eb[CAP_ERRBUF];
    int err = 0;
    snprintf(real, sizeof real, "%s/real", t.dir);
    snprintf(link, sizeof link, "%s/link", t.dir);
    ck_assert_int_eq(mkdir(real, 0700), 0);
    ck_assert_int_eq(symlink("real", link), 0);
    snprintf(file, sizeof file, "%s/x.pcap", real);
    snprintf(via, sizeof via, "%s/x.pcap", link);
    write_file(file, "abc", 3);
    struct stat st;
    ck_assert_int_eq(lstat(file, &st), 0);
    struct cap_found f = {strlen(t.dir), (uint64_t)st.st_dev, (uint64_t)st.st_ino};

    struct cap_input *in = cap_input_open(file, &f, eb, &err);
    ck_assert_ptr_nonnull(in);
    cap_input_close(in);
    /* the same file through a link below the folder: refused */
    ck_assert_ptr_null(cap_input_open(via, &f, eb, &err));
    ck_assert_ptr_nonnull(strstr(eb, "symbolic link"));
    /* a link put in the file's place: refused */
    char moved[192];
    snprintf(moved, sizeof moved, "%s/moved.pcap", real);
    ck_assert_int_eq(rename(file, moved), 0);
    ck_assert_int_eq(symlink("moved.pcap", file), 0);
    ck_assert_ptr_null(cap_input_open(file, &f, eb, &err));
    ck_assert_int_eq(err, NZ_EIO);
    /* another file in its place: refused (not the inode the walk saw) */
    unlink(file);
    write_file(file, "abc", 3);
    unlink(moved);
    ck_assert_ptr_null(cap_input_open(file, &f, eb, &err));
    ck_assert_ptr_nonnull(strstr(eb, "replaced"));
    /* a FIFO in its place: refused at once, never waited on */
    unlink(file);
    ck_assert_int_eq(mkfifo(file, 0600), 0);
    ck_assert_ptr_null(cap_input_open(file, &f, eb, &err));
    /* named on the command line (not found by a walk), the link is followed */
    unlink(file);
    write_file(file, "abc", 3);
    in = cap_input_open(via, NULL, eb, &err);
    ck_assert_ptr_nonnull(in);
    cap_input_close(in);
    tdir_remove(&t);
}
END_TEST

/* ---- store_file_finish_run ---- */

static struct store *open_mem(void)
{
    int err = 0;
    struct store *s = store_open(":memory:", NULL, &err);
    ck_assert_ptr_nonnull(s);
    return s;
}

static int64_t new_run(struct store *s)
{
    struct store_run r = {"t", "file", NULL, "test"};
    int64_t id = 0;
    ck_assert_int_eq(store_run_begin(s, &r, &id), 0);
    return id;
}

static void add_flow(struct store *s, int64_t run)
{
    struct store_flow f;
    memset(&f, 0, sizeof f);
    f.client_ip = "10.0.0.1";
    f.server_ip = "10.0.0.2";
    f.client_port = 40000;
    f.server_port = 25;
    f.ip_version = 4;
    f.orient = "syn";
    int64_t id = 0;
    ck_assert_int_eq(store_flow_put(s, run, &f, &id), 0);
    ck_assert_int_eq(store_commit(s), 0);
}

static long long q1(struct store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(store_sqlite(s), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static long long q1f(struct store *s, const char *fmt, long long id)
{
    char sql[256];
    snprintf(sql, sizeof sql, fmt, id);
    return q1(s, sql);
}

static void rec(struct store_file_rec *r, const char *path, char fill)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    memset(r->hash, fill, 64);
    memset(r->quick, 'f', 64);
    r->size = 100;
}

START_TEST(test_finish_records)
{
    struct store *s = open_mem();
    int64_t run = new_run(s);
    add_flow(s, run);
    struct store_file_rec f[2];
    rec(&f[0], "a.pcap", 'a');
    rec(&f[1], "b.pcap", 'b');
    struct store_run_stats st = {0};
    st.packets = 7;
    st.finished = true;
    int64_t clash[2];
    enum store_finish out;
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM files"), 0); /* nothing before the end */
    ck_assert_int_eq(store_file_finish_run(s, run, &st, f, 2, false, false, clash, &out), 0);
    ck_assert_int_eq(out, STORE_FINISHED);
    ck_assert_int_eq(clash[0] + clash[1], 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM files WHERE run_id = 1 AND quick = 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'"), 2);
    ck_assert_int_eq(q1(s, "SELECT finished FROM runs WHERE id = 1"), 1);
    ck_assert_int_eq(q1(s, "SELECT packets FROM runs WHERE id = 1"), 7);
    int64_t prev = 0;
    ck_assert_int_eq(store_file_lookup(s, f[1].hash, &prev), 0);
    ck_assert_int_eq(prev, run);
    store_close(s);
}
END_TEST

START_TEST(test_finish_clash)
{
    struct store *s = open_mem();
    struct store_run_stats st = {0};
    st.finished = true;
    int64_t clash[2];
    enum store_finish out;
    struct store_file_rec a, b[2];
    rec(&a, "a.pcap", 'a');
    rec(&b[0], "a-again.pcap", 'a');
    rec(&b[1], "c.pcap", 'c');

    /* run 1 and run 2 analyse a.pcap at once; run 1 ends first */
    int64_t r1 = new_run(s), r2 = new_run(s);
    add_flow(s, r1);
    add_flow(s, r2);
    ck_assert_int_eq(store_file_finish_run(s, r1, &st, &a, 1, false, false, clash, &out), 0);
    ck_assert_int_eq(out, STORE_FINISHED);
    /* run 2 only repeated it: removed with its rows */
    ck_assert_int_eq(store_file_finish_run(s, r2, &st, &b[0], 1, false, false, clash, &out), 0);
    ck_assert_int_eq(out, STORE_RUN_REMOVED);
    ck_assert_int_eq(clash[0], r1);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM runs WHERE id = %lld", r2), 0);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM flows WHERE run_id = %lld", r2), 0);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM flows WHERE run_id = %lld", r1), 1);

    /* run 3 (its id may be run 2's again) read a.pcap and c.pcap: keeps its rows, records nothing, stays unfinished */
    int64_t r3 = new_run(s);
    add_flow(s, r3);
    ck_assert_int_eq(store_file_finish_run(s, r3, &st, b, 2, false, false, clash, &out), 0);
    ck_assert_int_eq(out, STORE_RUN_REFUSED);
    ck_assert_int_eq(clash[0], r1);
    ck_assert_int_eq(clash[1], 0);
    ck_assert_int_eq(q1f(s, "SELECT finished FROM runs WHERE id = %lld", r3), 0);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM files WHERE run_id = %lld", r3), 0);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM flows WHERE run_id = %lld", r3), 1);

    /* run 4 read a.pcap and standard input: its stdin rows must not go, refused as well */
    int64_t r4 = new_run(s);
    add_flow(s, r4);
    ck_assert_int_eq(store_file_finish_run(s, r4, &st, &b[0], 1, false, true, clash, &out), 0);
    ck_assert_int_eq(out, STORE_RUN_REFUSED);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM flows WHERE run_id = %lld", r4), 1);

    /* run 5 with --force: replaces run 1's analysis of a.pcap (run 1 had only that file) */
    int64_t r5 = new_run(s);
    add_flow(s, r5);
    ck_assert_int_eq(store_file_finish_run(s, r5, &st, b, 2, true, false, clash, &out), 0);
    ck_assert_int_eq(out, STORE_FINISHED);
    ck_assert_int_eq(clash[0], r1);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM runs WHERE id = %lld", r1), 0);
    ck_assert_int_eq(q1f(s, "SELECT count(*) FROM files WHERE run_id = %lld", r5), 2);
    ck_assert_int_eq(q1f(s, "SELECT finished FROM runs WHERE id = %lld", r5), 1);
    store_close(s);
}
END_TEST

/* All or nothing, also with more files than one batch holds: a failure on the last file
 * leaves none recorded and the run unfinished; the earlier rows stay. */
START_TEST(test_finish_atomic)
{
    struct store *s = open_mem();
    int64_t run = new_run(s);
    add_flow(s, run);
    enum { N = STORE_BATCH_ROWS + 500 };
    struct store_file_rec *f = calloc(N, sizeof *f);
    int64_t *clash = calloc(N, sizeof *clash);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(clash);
    for (int i = 0; i < N; i++) {
        rec(&f[i], i == N - 1 ? "poison" : "ok", 'a');
        snprintf(f[i].hash, sizeof f[i].hash, "%064x", (unsigned)i);
    }
    ck_assert_int_eq(sqlite3_exec(store_sqlite(s),
                                  "CREATE TRIGGER poison BEFORE INSERT ON files WHEN NEW.path = 'poison'"
                                  " BEGIN SELECT RAISE(ABORT, 'disk full, say'); END",
                                  NULL, NULL, NULL), SQLITE_OK);
    struct store_run_stats st = {0};
    st.finished = true;
    enum store_finish out;
    ck_assert_int_eq(store_file_finish_run(s, run, &st, f, N, false, false, clash, &out), NZ_EDB);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM files"), 0);
    ck_assert_int_eq(q1(s, "SELECT finished FROM runs WHERE id = 1"), 0);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM flows WHERE run_id = 1"), 1);
    /* the store stays usable: once the cause is gone, the same end succeeds */
    ck_assert_int_eq(sqlite3_exec(store_sqlite(s), "DROP TRIGGER poison", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(store_file_finish_run(s, run, &st, f, N, false, false, clash, &out), 0);
    ck_assert_int_eq(out, STORE_FINISHED);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM files"), N);
    free(f);
    free(clash);
    store_close(s);
}
END_TEST

START_TEST(test_finish_args)
{
    struct store *s = open_mem();
    int64_t run = new_run(s);
    struct store_run_stats st = {0};
    enum store_finish out;
    int64_t clash[1];
    struct store_file_rec f;
    rec(&f, "x", 'a');
    f.hash[10] = 'z'; /* not hex */
    ck_assert_int_eq(store_file_finish_run(s, run, &st, &f, 1, false, false, clash, &out), NZ_EUSAGE);
    ck_assert_int_eq(store_file_finish_run(NULL, run, &st, &f, 1, false, false, clash, &out), NZ_EUSAGE);
    ck_assert_int_eq(store_file_finish_run(s, run, &st, NULL, 1, false, false, clash, &out), NZ_EUSAGE);
    /* an unknown run: an error, nothing recorded */
    rec(&f, "x", 'a');
    ck_assert_int_eq(store_file_finish_run(s, 99, &st, &f, 1, false, false, clash, &out), NZ_EDB);
    ck_assert_int_eq(q1(s, "SELECT count(*) FROM files"), 0);
    /* no files (standard input only): just finished */
    ck_assert_int_eq(store_file_finish_run(s, run, &st, NULL, 0, false, true, NULL, &out), 0);
    ck_assert_int_eq(out, STORE_FINISHED);
    store_close(s);
}
END_TEST

/* ---- the content hash ---- */

/* BLAKE3 of the official test input (bytes i % 251) of each length. The first block is the
 * official test vectors (BLAKE3-team/BLAKE3 test_vectors/test_vectors.json, "hash", first 32
 * bytes); the rest was computed with b3sum 1.2.0 (Debian 12), which gives the official values
 * for the official lengths. They cover every block and chunk boundary, the kernels' group sizes
 * (16 and 8 chunks), dedup's read size and a multi-MB input that is not a power of two. */
static const struct {
    size_t len;
    const char *hex;
} b3_vectors[] = {
    {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
    {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
    {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
    {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
    {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
    {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
    {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
    {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
    {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
    {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
    {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
    {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
    {5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"},
    {6144, "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205"},
    {6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"},
    {7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a"},
    {7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"},
    {8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"},
    {8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
    {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
    {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
    {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
    /* b3sum */
    {63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b"},
    {64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98"},
    {65, "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee"},
    {127, "d81293fda863f008c09e92fc382a81f5a0b4a1251cba1634016a0f86a6bd640d"},
    {128, "f17e570564b26578c33bb7f44643f539624b05df1a76c81f30acd548c44b45ef"},
    {129, "683aaae9f3c5ba37eaaf072aed0f9e30bac0865137bae68b1fde4ca2aebdcb12"},
    {16383, "7529418ecb789a30254899f229522ccde05234d2019c5ec5072bc4685a57658d"},
    {16385, "1dabe216be2578830263b049de1639f39f05a4da616b9b78c7a5e4e41662fd1f"},
    {17408, "993924ff3dcbd868be9cf3fed98d4538fe579ffccf390a5aa1ddba0f6a20bfed"},
    {32767, "be214034ea329f1cdc64246946da7c4287d93bd61b68c6c3a634a4345f58ff21"},
    {32768, "162183d1f9184474f5a5c9e6224e66720cdb6523f822e52d9b1efa30893f48f9"},
    {32769, "da589428d9b32c97658a04a21c0c8a38aad2ac402120819d956fd6d62bbfa36e"},
    {262143, "4fbb10c248894f1b56ec8298555b96e597147150a061b1cf1af19f16dbc0557b"},
    {262144, "d57dc906e20d3fd326ffaa85535500486f46a0979f5a323f028dcabfd381fd4a"},
    {262145, "531c319935cf78f34869faebd865e5748266b1799039103bfb851a680d9ed30c"},
    {1048576, "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343"},
    {8400953, "82f1b5233e1754143d039ae72f592ad60c2ee9f628cec758a8c493f737775066"},
};
#define B3_MAX_VECTOR 8400953u

/* A file of 3 MiB + 1 pseudo-random bytes (xorshift64, top byte; see xs_fill) and its hashes
 * by b3sum, Python's hashlib.blake2b(digest_size=32) and sha256sum. */
#define XS_LEN (3u * 1024u * 1024u + 1u)
#define XS_BLAKE3 "bce57bd73c707289e58cc0cbd16cd6e209550fcece2e3c13179c482f571f049d"
#define XS_BLAKE2B "ba889bd384d731a0be570b80e77545dc2944e56d9a3c3e8d2a02543a571e2b6d"
#define XS_SHA256 "a3724f097bfa2d8f9d18d1f78c176f10049825a84eb03bf86ea58daad2558fee"
/* The same three of the 8400953-byte official test input. */
#define PAT_BLAKE2B "c6096540581df2a64298f8578509259308123368399cd7a6f8ad31093cb9af7d"
#define PAT_SHA256 "2e95664474287447c6912034943e1fd218a31c3531caa5c25fec3428a519d8a7"

static void xs_fill(uint8_t *b, size_t n)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (uint8_t)(x >> 56);
    }
}

static void pat_fill(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i % 251);
}

static void b3_hex(const uint8_t *data, size_t len, size_t piece, char hex[65])
{
    struct nz_b3 h;
    uint8_t d[NZ_B3_OUT_LEN];
    nz_b3_init(&h);
    if (piece == 0) {
        nz_b3_update(&h, data, len);
    } else {
        for (size_t off = 0; off < len; off += piece)
            nz_b3_update(&h, data + off, len - off < piece ? len - off : piece);
    }
    nz_b3_final(&h, d);
    for (int i = 0; i < NZ_B3_OUT_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* The kernels this CPU can run; the portable one always. */
static int kernels(enum nz_b3_impl out[3])
{
    int n = 0;
    static const enum nz_b3_impl all[] = {NZ_B3_PORTABLE, NZ_B3_AVX2, NZ_B3_AVX512};
    for (int i = 0; i < 3; i++) {
        if (nz_b3_impl_available(all[i]))
            out[n++] = all[i];
        else
            fprintf(stderr, "check_inputs: this CPU has no %s: that BLAKE3 kernel is not tested here\n",
                    nz_b3_impl_name(all[i]));
    }
    return n;
}

START_TEST(test_blake3_vectors)
{
    uint8_t *buf = malloc(B3_MAX_VECTOR);
    ck_assert_ptr_nonnull(buf);
    pat_fill(buf, B3_MAX_VECTOR);
    /* whole, in odd pieces, block- and chunk-sized pieces, one past, dedup's read size */
    static const size_t pieces[] = {0, 1, 7, 63, 64, 65, 1024, 1025, 16385, 65536, DEDUP_READ_CHUNK};
    enum nz_b3_impl ks[3];
    int nk = kernels(ks);
    ck_assert_int_ge(nk, 1);
    ck_assert_int_eq(ks[0], NZ_B3_PORTABLE);
    for (int k = 0; k < nk; k++) {
        ck_assert_int_eq(nz_b3_force(ks[k]), 0);
        ck_assert_int_eq(nz_b3_impl(), ks[k]);
        for (size_t v = 0; v < sizeof b3_vectors / sizeof b3_vectors[0]; v++) {
            for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
                if (pieces[p] > 0 && pieces[p] < 64 && b3_vectors[v].len > 300000)
                    continue; /* byte-wise feeding of megabytes proves nothing more */
                char hex[65];
                b3_hex(buf, b3_vectors[v].len, pieces[p], hex);
                ck_assert_msg(strcmp(hex, b3_vectors[v].hex) == 0, "%s, %zu bytes in pieces of %zu: %s, want %s",
                              nz_b3_impl_name(ks[k]), b3_vectors[v].len, pieces[p], hex, b3_vectors[v].hex);
            }
        }
    }
    /* nz_b3_final() leaves the state alone: more input continues the same hash */
    struct nz_b3 h;
    uint8_t d[NZ_B3_OUT_LEN];
    char hex[65];
    nz_b3_init(&h);
    nz_b3_update(&h, buf, 5000);
    nz_b3_final(&h, d);
    nz_b3_update(&h, buf + 5000, 1048576 - 5000);
    nz_b3_final(&h, d);
    for (int i = 0; i < NZ_B3_OUT_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    ck_assert_str_eq(hex, "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343");
    /* a kernel the CPU lacks cannot be forced; unforcing returns to the CPU's best */
    nz_b3_unforce();
    ck_assert_int_eq(nz_b3_impl(), ks[nk - 1]);
    free(buf);
}
END_TEST

/* dedup_hash() reads a file from its descriptor in DEDUP_READ_CHUNK pieces: every kernel and
 * the two older algorithms give what the reference tools give. */
START_TEST(test_dedup_hash_refs)
{
    struct tdir t;
    tdir_make(&t);
    char xs_path[128], pat_path[128], eb[CAP_ERRBUF], hex[65];
    int err = 0;
    uint64_t sz = 0;
    uint8_t *buf = malloc(B3_MAX_VECTOR);
    ck_assert_ptr_nonnull(buf);
    xs_fill(buf, XS_LEN);
    snprintf(xs_path, sizeof xs_path, "%s/xs.bin", t.dir);
    write_file(xs_path, buf, XS_LEN);
    pat_fill(buf, B3_MAX_VECTOR);
    snprintf(pat_path, sizeof pat_path, "%s/pattern.bin", t.dir);
    write_file(pat_path, buf, B3_MAX_VECTOR);
    struct cap_input *xs = cap_input_open(xs_path, NULL, eb, &err);
    struct cap_input *pat = cap_input_open(pat_path, NULL, eb, &err);
    ck_assert_ptr_nonnull(xs);
    ck_assert_ptr_nonnull(pat);

    enum nz_b3_impl ks[3];
    int nk = kernels(ks);
    for (int k = 0; k < nk; k++) {
        ck_assert_int_eq(nz_b3_force(ks[k]), 0);
        ck_assert_int_eq(dedup_hash(xs, DEDUP_HASH_BLAKE3, hex, &sz), 0);
        ck_assert_msg(strcmp(hex, XS_BLAKE3) == 0, "%s: %s", nz_b3_impl_name(ks[k]), hex);
        ck_assert_uint_eq(sz, XS_LEN);
        ck_assert_int_eq(dedup_hash(pat, DEDUP_HASH_BLAKE3, hex, &sz), 0);
        ck_assert_msg(strcmp(hex, b3_vectors[sizeof b3_vectors / sizeof b3_vectors[0] - 1].hex) == 0, "%s: %s",
                      nz_b3_impl_name(ks[k]), hex);
        ck_assert_uint_eq(sz, B3_MAX_VECTOR);
        /* the job on its own thread hashes the same */
        struct dedup_job j;
        dedup_job_start(&j, xs);
        ck_assert_int_eq(dedup_job_join(&j), 0);
        ck_assert_str_eq(j.hex, XS_BLAKE3);
        ck_assert_uint_eq(j.size, XS_LEN);
    }
    nz_b3_unforce();
    ck_assert_int_eq(dedup_hash(xs, DEDUP_HASH_BLAKE2B, hex, &sz), 0);
    ck_assert_str_eq(hex, XS_BLAKE2B);
    ck_assert_int_eq(dedup_hash(xs, DEDUP_HASH_SHA256, hex, &sz), 0);
    ck_assert_str_eq(hex, XS_SHA256);
    ck_assert_int_eq(dedup_hash(pat, DEDUP_HASH_BLAKE2B, hex, &sz), 0);
    ck_assert_str_eq(hex, PAT_BLAKE2B);
    ck_assert_int_eq(dedup_hash(pat, DEDUP_HASH_SHA256, hex, &sz), 0);
    ck_assert_str_eq(hex, PAT_SHA256);
    ck_assert_str_eq(dedup_hash_alg_name(DEDUP_HASH_BLAKE3), "blake3");
    ck_assert_str_eq(dedup_hash_alg_name(DEDUP_HASH_BLAKE2B), "blake2b-256");
    cap_input_close(xs);
    cap_input_close(pat);
    free(buf);
    tdir_remove(&t);
}
END_TEST

static long long rawq(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A database written by schema v6 code holds BLAKE2b-256 rows with pre-keys. After this
 * change (and the migrations after v6) the file is still known, by its BLAKE2b, without being
 * analysed again; a file with the same pre-key but other content is not; --force forgets the
 * old row. */
START_TEST(test_dedup_v6_database)
{
    struct tdir t;
    tdir_make(&t);
    char dbp[128], fp[128], other[128], eb[CAP_ERRBUF], quick[65], sql[512];
    int err = 0;
    uint64_t sz = 0;
    uint8_t *buf = malloc(XS_LEN);
    ck_assert_ptr_nonnull(buf);
    xs_fill(buf, XS_LEN);
    snprintf(fp, sizeof fp, "%s/known.pcap", t.dir);
    write_file(fp, buf, XS_LEN);
    buf[XS_LEN / 2] ^= 1; /* same size, head and tail: same pre-key, other content */
    snprintf(other, sizeof other, "%s/lookalike.pcap", t.dir);
    write_file(other, buf, XS_LEN);
    struct cap_input *in = cap_input_open(fp, NULL, eb, &err);
    struct cap_input *look = cap_input_open(other, NULL, eb, &err);
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(look);
    ck_assert_int_eq(dedup_quickkey(in, quick, &sz), 0);
    char q2[65];
    ck_assert_int_eq(dedup_quickkey(look, q2, &sz), 0);
    ck_assert_str_eq(quick, q2);

    /* the v6 database, as v6 code wrote it: run 1 analysed known.pcap */
    snprintf(dbp, sizeof dbp, "%s/v6.db", t.dir);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(dbp, &db), SQLITE_OK);
    ck_assert_int_eq(store_migrate_to(db, 6, NULL), 0);
    ck_assert_int_eq(rawq(db, "PRAGMA user_version"), 6);
    snprintf(sql, sizeof sql,
             "INSERT INTO runs(id, source, mode, finished) VALUES(1, 'old', 'file', 1);"
             "INSERT INTO flows(run_id, client_ip, server_ip) VALUES(1, '10.0.0.1', '10.0.0.2');"
             "INSERT INTO files(run_id, path, content_hash, size, hash_alg, quick)"
             " VALUES(1, 'known.pcap', '%s', %u, 'blake2b-256', '%s');",
             XS_BLAKE2B, XS_LEN, quick);
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

    struct store *st = store_open(dbp, NULL, &err);
    ck_assert_ptr_nonnull(st);
    unsigned algs = 0;
    ck_assert_int_eq(store_file_quick_algs(st, quick, &algs), 0);
    ck_assert_uint_eq(algs, STORE_ALG_BLAKE2B);
    struct dedup d;
    struct dedup_check c;
    dedup_init(&d, st, false);
    dedup_check(&d, in, &c);
    ck_assert_int_eq(c.verdict, DEDUP_KNOWN);
    ck_assert_int_eq(c.prev, 1);
    ck_assert(c.have_hash);
    ck_assert_str_eq(c.hash, XS_BLAKE3); /* what this run would record */
    /* a look-alike (same pre-key) is new: the BLAKE2b lookup is by its own content */
    dedup_check(&d, look, &c);
    ck_assert_int_eq(c.verdict, DEDUP_NEW);
    ck_assert(c.have_hash);
    ck_assert_str_ne(c.hash, XS_BLAKE3);
    dedup_free(&d);

    /* --force: the v6 row (and run 1, whose only file it was) is forgotten; the file is new */
    dedup_init(&d, st, true);
    dedup_check(&d, in, &c);
    ck_assert_int_eq(c.verdict, DEDUP_NEW);
    int64_t prev = -1;
    ck_assert_int_eq(store_file_lookup(st, XS_BLAKE2B, &prev), 0);
    ck_assert_int_eq(prev, 0);
    ck_assert_int_eq(q1(st, "SELECT count(*) FROM runs WHERE id = 1"), 0);
    /* recorded again, it is a BLAKE3 row, found by BLAKE3 from then on */
    int64_t run = new_run(st);
    const struct store_file_rec *same = NULL;
    int hrc = 0;
    ck_assert_int_eq(dedup_add(&d, "known.pcap", in, &c, NULL, &same, &hrc), DEDUP_ADDED);
    struct store_run_stats rs = {0};
    rs.finished = true;
    int64_t clash[1];
    enum store_finish out;
    ck_assert_int_eq(dedup_finish_run(&d, run, &rs, clash, &out), 0);
    ck_assert_int_eq(out, STORE_FINISHED);
    dedup_free(&d);
    ck_assert_int_eq(
        q1(st, "SELECT count(*) FROM files WHERE hash_alg = 'blake3' AND content_hash = '" XS_BLAKE3 "'"), 1);
    dedup_init(&d, st, false);
    dedup_check(&d, in, &c);
    ck_assert_int_eq(c.verdict, DEDUP_KNOWN);
    ck_assert_int_eq(c.prev, run);
    dedup_free(&d);

    ck_assert_int_eq(store_close(st), 0);
    cap_input_close(in);
    cap_input_close(look);
    free(buf);
    tdir_remove(&t);
}
END_TEST

static Suite *inputs_suite(void)
{
    Suite *su = suite_create("inputs");
    TCase *tc = tcase_create("source");
    tcase_add_test(tc, test_gzip_damage);
    tcase_add_test(tc, test_input_kinds);
    tcase_add_test(tc, test_found_beneath);
    suite_add_tcase(su, tc);
    tc = tcase_create("finish");
    tcase_add_test(tc, test_finish_records);
    tcase_add_test(tc, test_finish_clash);
    tcase_add_test(tc, test_finish_atomic);
    tcase_add_test(tc, test_finish_args);
    suite_add_tcase(su, tc);
    tc = tcase_create("hash");
    tcase_add_test(tc, test_blake3_vectors);
    tcase_add_test(tc, test_dedup_hash_refs);
    tcase_add_test(tc, test_dedup_v6_database);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(inputs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
