/* check_inputs.c — Check suite for how `analyze` reads its inputs and records them:
 *  - capture/source.c: an input is opened once and judged by fstat on its descriptor (regular
 *    file, FIFO, device); a file found by a folder walk is opened beneath the folder without
 *    following links and must be the (device, inode) the walk saw; the pre-key and the hash
 *    read the descriptor; a damaged gzip stream delivers every packet before the damage;
 *  - store_file_finish_run(): a run's files are recorded in the transaction that marks it
 *    finished, all or nothing (also beyond STORE_BATCH_ROWS files), and a clash with another
 *    run that recorded the same file meanwhile removes or refuses the run.
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
    ck_assert_int_eq(dedup_hash(in, DEDUP_HASH_BLAKE2B, h1, &sz), 0);
    ck_assert_uint_eq(sz, len);
    /* The analysis and the hash read one descriptor: unlinking or replacing the path after
     * the open changes nothing. */
    struct cap_source *s = cap_open_input(in, NULL, eb, &err);
    ck_assert_ptr_nonnull(s);
    unlink(path);
    write_file(path, "replaced", 8);
    ck_assert_int_eq(dedup_hash(in, DEDUP_HASH_BLAKE2B, h2, &sz), 0);
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
