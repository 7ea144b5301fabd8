// SPDX-License-Identifier: GPL-2.0-only
/*
 * uverbs_fuzz: randomized and edge-case requests to a MANA IB device's uverbs file, as a
 * confused or hostile process would send them, for a bounded time.
 *
 * It speaks the kernel's uAPI directly (include/uapi/rdma: the legacy write() commands, the
 * extended write() commands and the RDMA_VERBS_IOCTL interface, with mana-abi.h driver data),
 * and uses libibverbs only to find the device and, now and then, to run the ordinary libmana
 * path (open, query, PD) between the random requests. What it varies:
 *
 *   - handles: live ones, destroyed ones, another type's, 0, ~0, random;
 *   - pointers (responses, queue buffers, MR ranges, ioctl attributes): a valid buffer, a
 *     read-only page, a PROT_NONE page, an unmapped page, a buffer running into a guard page,
 *     unaligned, NULL, kernel addresses;
 *   - sizes: command and response lengths (short, long, mismatched with write()'s count),
 *     queue and CQ sizes (0, 1, powers of two, off by one, huge), MR lengths;
 *   - comp_mask and flag bits, QP types, ports (0, 1, 2, 3, 255), RSS hash fields, hash
 *     functions and key lengths (0, 40, 41, 255, random), mmap offsets;
 *   - object lifetimes: destroy in any order, close the file with everything open.
 *
 * Every request is drawn from a seeded generator; the seed is printed first, and the same seed
 * with the same -n replays the same requests (as long as the kernel answers the same way). The
 * kernel side is judged by the caller (tests/e2e/scenario.sh): no WARNING, BUG or lockdep
 * report, no leak, the vport free afterwards, the device still usable.
 *
 * A well-formed GET_CONTEXT (the first request, and the one after a context the fuzzer closed or
 * the kernel refused) is sent as built: the kernel must accept it, whatever the requests before
 * it left behind, and a refusal ends the run with exit status 1 and the errno. `-c N` checks
 * just that: N well-formed contexts opened and closed one after the other (more than the
 * device's doorbell pages, so a page a closed context kept would show), then the summary.
 *
 * Usage: uverbs_fuzz [-d IBDEV] [-s SEED] [-t SECONDS] [-n REQUESTS] [-c CONTEXTS] [-v]
 * Exit status: 0 when the run completed, 1 when a well-formed GET_CONTEXT was refused (the
 * device could not be used), 2 on a usage error. The last line is the summary:
 *   "uverbs_fuzz: seed S: N requests in T s (W write, I ioctl, M mmap), C created, errnos: ..."
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <infiniband/verbs.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/ib_user_verbs.h>
#include <rdma/mana-abi.h>
#include <rdma/rdma_user_ioctl_cmds.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define POOL_PAGES 64
#define MAX_LIVE 24
#define MAX_ERRNO 134

/* --- the generator ---------------------------------------------------------------------------- */

static uint64_t rng_state;

/*
 * The hazard phase (hazards()): every random choice of a hostile value is off, so requests are
 * valid, and `ro_resp` points their responses at a read-only page with room for the core's
 * response only: the driver creates the object, the core's copy of its response fails and the
 * core aborts the object (RDMA_REMOVE_ABORT), calling the driver's destroy with the create
 * request's udata.
 */
static bool sane, ro_resp;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* True with probability 1/n. */
static bool one_in(uint32_t n)
{
	if (sane)
		return false;
	return below(n) == 0;
}

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[below(n)];
}

#define PICK(...) pick((const uint64_t[]){ __VA_ARGS__ }, \
		       sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

/* An integer for a size or count field: edges mostly, random sometimes. */
static uint32_t size_u32(void)
{
	if (one_in(4))
		return (uint32_t)rnd();
	return (uint32_t)PICK(0, 1, 2, 3, 63, 64, 65, 100, 255, 256, 257, 1024, 2047, 2048, 2049,
			      4095, 4096, 4097, 8192, 65536, 1 << 20, 1U << 31, 0x7fffffff,
			      0xffffffff);
}

/* --- memory ------------------------------------------------------------------------------------ */

static uint8_t *pool;		/* POOL_PAGES read-write pages, then one PROT_NONE guard page */
static uint8_t *ro_page;	/* read-only */
static uint8_t *none_page;	/* PROT_NONE */
static uint64_t unmapped;	/* a page that was mapped and is no more */
static uint8_t *resp_buf;	/* a read-write response buffer (in its own page) */
/*
 * Where the kernel may write outputs of fuzzed length: ioctl attributes (up to 65535 bytes)
 * and random extended write() commands (up to 2 x 65535 8-byte words), so that no length can
 * make the kernel write over the fuzzer's own state. Every buffer the kernel writes to is
 * followed by a PROT_NONE page: a longer write faults (EFAULT) instead of reaching the next
 * mapping.
 */
#define SINK_BYTES (1024 * 1024 + 16 * PAGE)
static uint8_t *sink;

/* `bytes` of read-write memory followed by a PROT_NONE guard page. */
static uint8_t *map_guarded(size_t bytes)
{
	uint8_t *p = mmap(NULL, bytes + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (p == MAP_FAILED || mprotect(p + bytes, PAGE, PROT_NONE))
		return NULL;
	return p;
}

static int map_memory(void)
{
	void *p;

	p = mmap(NULL, (POOL_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	pool = p;
	memset(pool, 0, POOL_PAGES * PAGE);
	if (mprotect(pool + POOL_PAGES * PAGE, PAGE, PROT_NONE))
		return -1;
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	ro_page = p;
	p = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	none_page = p;
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	unmapped = (uint64_t)(uintptr_t)p;
	munmap(p, PAGE);
	resp_buf = map_guarded(PAGE);
	sink = map_guarded(SINK_BYTES);
	return resp_buf && sink ? 0 : -1;
}

/* A page-aligned buffer of 2^k pages in the pool (what a sane caller passes). */
static uint64_t pool_buf(uint32_t bytes)
{
	uint32_t pages = bytes / PAGE ? bytes / PAGE : 1;
	uint32_t first = pages < POOL_PAGES ? below(POOL_PAGES - pages + 1) : 0;

	return (uint64_t)(uintptr_t)(pool + first * PAGE);
}

/* A user pointer for a buffer of `len` bytes: valid mostly, hostile sometimes. */
static uint64_t user_ptr(uint32_t len, bool writable)
{
	uint64_t valid = writable ? (uint64_t)(uintptr_t)resp_buf : pool_buf(len);

	if (writable && ro_resp)
		return (uint64_t)(uintptr_t)ro_page;

	if (!one_in(3))
		return valid;
	switch (below(11)) {
	case 0:
		return 0;
	case 1:
		return (uint64_t)(uintptr_t)ro_page;
	case 2:
		return (uint64_t)(uintptr_t)none_page;
	case 3:
		return unmapped;
	case 4:
		/* runs into the pool's guard page */
		return (uint64_t)(uintptr_t)(pool + POOL_PAGES * PAGE - (len > 8 ? len / 2 : 4));
	case 5:
		return valid + 1 + below(7);
	case 6:
		return 0xffff888000000000ULL;
	case 7:
		return 0xffffffff81000000ULL;
	case 8:
		return 0x00007ffffffff000ULL;
	case 9:
		return rnd();
	default:
		return (uint64_t)(uintptr_t)(pool + below(POOL_PAGES) * PAGE + below(PAGE));
	}
}

/* --- objects ------------------------------------------------------------------------------------- */

enum { PD, CQ, WQ, TBL, QP, MR, NTYPES };

struct handles {
	uint32_t live[MAX_LIVE];
	int n;
	uint32_t dead[8];	/* recently destroyed */
	int ndead;
};

static struct handles objs[NTYPES];
static int ufd = -1, async_fd = -1;
static bool have_ctx;
static const char *uverbs_path;

static void add_handle(int t, uint32_t h)
{
	if (objs[t].n < MAX_LIVE)
		objs[t].live[objs[t].n++] = h;
}

static void forget_handle(int t, uint32_t h)
{
	struct handles *o = &objs[t];

	for (int i = 0; i < o->n; i++) {
		if (o->live[i] == h) {
			o->live[i] = o->live[--o->n];
			o->dead[o->ndead++ % 8] = h;
			return;
		}
	}
}

/* A handle of type t: a live one mostly, else stale, another type's, or an edge value. */
static uint32_t handle(int t)
{
	struct handles *o = &objs[t];
	int other;

	if (o->n && !one_in(5))
		return o->live[below(o->n)];
	switch (below(4)) {
	case 0:
		if (o->ndead)
			return o->dead[below(o->ndead < 8 ? o->ndead : 8)];
		return 0;
	case 1:
		other = below(NTYPES);
		if (objs[other].n)
			return objs[other].live[below(objs[other].n)];
		return 1;
	case 2:
		return (uint32_t)PICK(0, 1, 2, 0x7fffffff, 0xffffffff);
	default:
		return (uint32_t)rnd();
	}
}

/* --- statistics ---------------------------------------------------------------------------------- */

static unsigned long n_req, n_write, n_ioctl, n_mmap, n_created, n_ok;
static unsigned long errnos[MAX_ERRNO + 1];
static bool verbose;

static void tally(long ret, int err, const char *what)
{
	n_req++;
	if (ret >= 0) {
		n_ok++;
	} else if (err > 0 && err <= MAX_ERRNO) {
		errnos[err]++;
	} else {
		errnos[0]++;
	}
	if (verbose)
		printf("%lu %s: %s\n", n_req, what, ret >= 0 ? "ok" : strerrorname_np(err));
}

/* --- the write() interface -------------------------------------------------------------------- */

static uint8_t cmdbuf[8192];

/*
 * Sends a legacy command: header, then `body` (whose first 8 bytes are the response pointer for
 * commands with a response), then `drv` (driver data). out_words counts 4-byte words of the
 * response. Now and then the header's length disagrees with write()'s count.
 */
static long write_cmd(uint32_t cmd, void *body, size_t body_len, const void *drv, size_t drv_len,
		      uint16_t out_words, const char *what)
{
	struct ib_uverbs_cmd_hdr hdr;
	size_t len = sizeof(hdr) + body_len + drv_len;
	size_t count;
	long ret;

	if (len > sizeof(cmdbuf))
		return -1;
	hdr.command = cmd;
	hdr.in_words = len / 4;
	hdr.out_words = out_words;
	memcpy(cmdbuf, &hdr, sizeof(hdr));
	memcpy(cmdbuf + sizeof(hdr), body, body_len);
	if (drv_len)
		memcpy(cmdbuf + sizeof(hdr) + body_len, drv, drv_len);
	count = len;
	/* write()'s count and the header's length disagree: not for a sane request */
	if (one_in(40))
		count = below(len + 16);
	if (one_in(40))
		((struct ib_uverbs_cmd_hdr *)cmdbuf)->in_words = below(len / 4 + 4);
	ret = write(ufd, cmdbuf, count);
	n_write++;
	tally(ret, errno, what);
	return ret;
}

/*
 * Sends an extended command: header, extended header (response pointer and driver lengths in
 * 8-byte words), `body`, `drv`.
 */
static long write_ex(uint32_t cmd, void *body, size_t body_len, const void *drv, size_t drv_len,
		     uint64_t resp, uint16_t resp_words, uint16_t drv_out_words, const char *what)
{
	struct ib_uverbs_cmd_hdr hdr;
	struct ib_uverbs_ex_cmd_hdr ex = { 0 };
	size_t len = sizeof(hdr) + sizeof(ex) + body_len + drv_len;
	size_t count = len;
	long ret;

	if (len > sizeof(cmdbuf))
		return -1;
	hdr.command = IB_USER_VERBS_CMD_FLAG_EXTENDED | cmd;
	hdr.in_words = body_len / 8;
	hdr.out_words = resp_words;
	ex.response = resp;
	ex.provider_in_words = drv_len / 8;
	ex.provider_out_words = drv_out_words;
	if (one_in(30))
		ex.cmd_hdr_reserved = rnd();
	memcpy(cmdbuf, &hdr, sizeof(hdr));
	memcpy(cmdbuf + sizeof(hdr), &ex, sizeof(ex));
	memcpy(cmdbuf + sizeof(hdr) + sizeof(ex), body, body_len);
	if (drv_len)
		memcpy(cmdbuf + sizeof(hdr) + sizeof(ex) + body_len, drv, drv_len);
	if (one_in(40))
		count = below(len + 16);
	ret = write(ufd, cmdbuf, count);
	n_write++;
	tally(ret, errno, what);
	return ret;
}

/*
 * A response length in 4-byte words for a response of `right` bytes whose first `core` are the
 * core's: the right one mostly, else short, the core's part only, zero or long.
 */
static uint16_t resp_words(size_t right, size_t core)
{
	if (ro_resp)
		return core / 4;
	if (!one_in(4))
		return right / 4;
	return PICK(0, 1, core / 4, right / 4 - (right >= 8), right / 4 + 1, 64, 1000);
}

/* The driver's response length of an extended command, in 8-byte words. */
static uint16_t drv_out_words(uint16_t right)
{
	if (ro_resp)
		return 0;
	return one_in(5) ? below(right * 2 + 3) : right;
}

/* Driver data of a request: the struct as built, truncated, extended with zeroes or garbage. */
static size_t drv_len(size_t right)
{
	if (!one_in(4))
		return right;
	return PICK(0, 4, 8, right / 2, right + 8, right + 64);
}

static uint8_t drvbuf[512];

/* Fills drvbuf with `req` and returns the length to send (multiple of 8 for ex commands). */
static size_t driver_data(const void *req, size_t size, bool ex)
{
	size_t len = drv_len(size);

	memset(drvbuf, 0, sizeof(drvbuf));
	memcpy(drvbuf, req, size);
	if (len > size && one_in(2))
		for (size_t i = size; i < len; i++)
			drvbuf[i] = rnd();
	if (ex)
		len &= ~7UL;
	return len;
}

/* --- the context ---------------------------------------------------------------------------- */

static void close_ctx(void)
{
	if (ufd >= 0)
		close(ufd);
	if (async_fd >= 0)
		close(async_fd);
	ufd = async_fd = -1;
	have_ctx = false;
	/* fds an ioctl may have created (event files): not leaked across contexts */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	for (int t = 0; t < NTYPES; t++)
		objs[t].n = 0;
}

/*
 * Opens the device and sends GET_CONTEXT: a hostile one (response pointer, length and driver
 * data drawn, write()'s count or the header's length mangled now and then), or a well-formed
 * one, sent as built, which the kernel must accept.
 */
static int open_ctx(bool hostile)
{
	struct ib_uverbs_get_context cmd = { 0 };
	struct ib_uverbs_get_context_resp *resp = (void *)resp_buf;
	uint8_t drv[16] = { 0 };
	bool was_sane = sane;
	size_t dlen = 0;
	long ret;

	close_ctx();
	ufd = open(uverbs_path, O_RDWR | O_CLOEXEC);
	if (ufd < 0)
		return -1;
	memset(resp_buf, 0, PAGE);
	cmd.response = hostile ? user_ptr(sizeof(*resp) + 8, true) : (uint64_t)(uintptr_t)resp;
	if (hostile && one_in(2)) {
		for (size_t i = 0; i < sizeof(drv); i++)
			drv[i] = one_in(2) ? rnd() : 0;
		dlen = PICK(0, 8, 16);
	}
	/* write_cmd() draws no mangling for a sane request */
	sane = was_sane || !hostile;
	ret = write_cmd(IB_USER_VERBS_CMD_GET_CONTEXT, &cmd, sizeof(cmd), drv, dlen,
			hostile ? resp_words(sizeof(*resp) + 8, sizeof(*resp)) : (sizeof(*resp) + 8) / 4,
			"get_context");
	sane = was_sane;
	if (ret < 0)
		return -1;
	have_ctx = true;
	if (cmd.response == (uint64_t)(uintptr_t)resp && resp->async_fd > 2 &&
	    resp->async_fd < 1024)
		async_fd = resp->async_fd;
	return 0;
}

/* --- requests ----------------------------------------------------------------------------------- */

static void req_alloc_pd(void)
{
	struct ib_uverbs_alloc_pd cmd = { 0 };
	struct mana_ib_alloc_pd drv = { 0 };
	size_t dlen;
	long ret;

	memset(resp_buf, 0, 64);
	cmd.response = user_ptr(8, true);
	drv.comp_mask = one_in(3) ? rnd() : (one_in(2) ? MANA_IB_PD_SHORT_PDN : 0);
	dlen = driver_data(&drv, sizeof(drv), false);
	ret = write_cmd(IB_USER_VERBS_CMD_ALLOC_PD, &cmd, sizeof(cmd), drvbuf, dlen,
			resp_words(sizeof(struct ib_uverbs_alloc_pd_resp) + 8,
				   sizeof(struct ib_uverbs_alloc_pd_resp)), "alloc_pd");
	if (ret >= 0 && cmd.response == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(PD, ((struct ib_uverbs_alloc_pd_resp *)resp_buf)->pd_handle);
		n_created++;
	}
}

static void req_dealloc_pd(void)
{
	struct ib_uverbs_dealloc_pd cmd = { .pd_handle = handle(PD) };

	if (write_cmd(IB_USER_VERBS_CMD_DEALLOC_PD, &cmd, sizeof(cmd), NULL, 0, 0,
		      "dealloc_pd") >= 0)
		forget_handle(PD, cmd.pd_handle);
}

static uint32_t cq_entries(void)
{
	return one_in(3) ? size_u32() : (uint32_t)PICK(64, 128, 256, 1024, 2048);
}

static void fill_cq_drv(struct mana_ib_create_cq *drv, uint32_t cqe)
{
	uint32_t bytes = cqe * 64 < cqe ? PAGE : cqe * 64;

	drv->buf_addr = one_in(3) ? user_ptr(bytes, false) : pool_buf(bytes);
	drv->comp_mask = one_in(4) ? rnd() : (one_in(8) ? MANA_IB_CREATE_RNIC_CQ : 0);
	if (one_in(8))
		drv->reserved0 = rnd();
}

static void req_create_cq(void)
{
	struct ib_uverbs_create_cq cmd = { 0 };
	struct mana_ib_create_cq drv = { 0 };
	struct ib_uverbs_create_cq_resp *resp = (void *)resp_buf;
	size_t dlen;
	long ret;

	memset(resp_buf, 0, 64);
	cmd.response = user_ptr(16, true);
	cmd.cqe = cq_entries();
	cmd.comp_vector = one_in(4) ? rnd() : below(2);
	cmd.comp_channel = one_in(8) ? (int32_t)rnd() : -1;
	fill_cq_drv(&drv, cmd.cqe);
	dlen = driver_data(&drv, sizeof(drv), false);
	ret = write_cmd(IB_USER_VERBS_CMD_CREATE_CQ, &cmd, sizeof(cmd), drvbuf, dlen,
			resp_words(sizeof(*resp) + sizeof(struct mana_ib_create_cq_resp), sizeof(*resp)),
			"create_cq");
	if (ret >= 0 && cmd.response == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(CQ, resp->cq_handle);
		n_created++;
	}
}

static void req_ex_create_cq(void)
{
	struct ib_uverbs_ex_create_cq cmd = { 0 };
	struct mana_ib_create_cq drv = { 0 };
	struct ib_uverbs_ex_create_cq_resp *resp = (void *)resp_buf;
	uint64_t rp = user_ptr(sizeof(*resp) + 8, true);
	size_t dlen;
	long ret;

	memset(resp_buf, 0, 64);
	cmd.cqe = cq_entries();
	cmd.comp_vector = one_in(4) ? rnd() : below(2);
	cmd.comp_channel = -1;
	cmd.comp_mask = one_in(6) ? rnd() : 0;
	cmd.flags = one_in(6) ? rnd() : 0;
	fill_cq_drv(&drv, cmd.cqe);
	dlen = driver_data(&drv, sizeof(drv), true);
	ret = write_ex(IB_USER_VERBS_EX_CMD_CREATE_CQ, &cmd, sizeof(cmd), drvbuf, dlen, rp,
		       one_in(5) ? below(4) : sizeof(*resp) / 8, drv_out_words(1), "ex_create_cq");
	if (ret >= 0 && rp == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(CQ, resp->base.cq_handle);
		n_created++;
	}
}

static void req_destroy_cq(void)
{
	struct ib_uverbs_destroy_cq cmd = { 0 };

	cmd.response = user_ptr(8, true);
	cmd.cq_handle = handle(CQ);
	if (write_cmd(IB_USER_VERBS_CMD_DESTROY_CQ, &cmd, sizeof(cmd), NULL, 0,
		      resp_words(sizeof(struct ib_uverbs_destroy_cq_resp),
				 sizeof(struct ib_uverbs_destroy_cq_resp)), "destroy_cq") >= 0)
		forget_handle(CQ, cmd.cq_handle);
}

static uint32_t queue_bytes(void)
{
	return one_in(3) ? size_u32() : (uint32_t)PICK(4096, 8192, 16384, 65536);
}

static void req_create_wq(void)
{
	struct ib_uverbs_ex_create_wq cmd = { 0 };
	struct mana_ib_create_wq drv = { 0 };
	struct ib_uverbs_ex_create_wq_resp *resp = (void *)resp_buf;
	uint64_t rp = user_ptr(sizeof(*resp), true);
	size_t dlen;
	long ret;

	memset(resp_buf, 0, 64);
	cmd.comp_mask = one_in(8) ? rnd() : 0;
	cmd.wq_type = one_in(8) ? rnd() : IB_UVERBS_WQT_RQ;
	cmd.pd_handle = handle(PD);
	cmd.cq_handle = handle(CQ);
	cmd.max_wr = one_in(3) ? size_u32() : 256;
	cmd.max_sge = one_in(3) ? size_u32() : 1;
	cmd.create_flags = one_in(8) ? rnd() : 0;
	drv.wq_buf_size = queue_bytes();
	drv.wq_buf_addr = one_in(3) ? user_ptr(drv.wq_buf_size, false) : pool_buf(drv.wq_buf_size);
	if (one_in(8))
		drv.reserved = rnd();
	dlen = driver_data(&drv, sizeof(drv), true);
	ret = write_ex(IB_USER_VERBS_EX_CMD_CREATE_WQ, &cmd, sizeof(cmd), drvbuf, dlen, rp,
		       one_in(5) ? below(4) : sizeof(*resp) / 8, 0, "create_wq");
	if (ret >= 0 && rp == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(WQ, resp->wq_handle);
		n_created++;
	}
}

static void req_destroy_wq(void)
{
	struct ib_uverbs_ex_destroy_wq cmd = { 0 };

	cmd.wq_handle = handle(WQ);
	cmd.comp_mask = one_in(8) ? rnd() : 0;
	if (write_ex(IB_USER_VERBS_EX_CMD_DESTROY_WQ, &cmd, sizeof(cmd), NULL, 0,
		     user_ptr(16, true), sizeof(struct ib_uverbs_ex_destroy_wq_resp) / 8, 0,
		     "destroy_wq") >= 0)
		forget_handle(WQ, cmd.wq_handle);
}

static void req_create_tbl(void)
{
	struct {
		struct ib_uverbs_ex_create_rwq_ind_table cmd;
		uint32_t wq_handles[128];
	} req = { 0 };
	struct ib_uverbs_ex_create_rwq_ind_table_resp *resp = (void *)resp_buf;
	uint64_t rp = user_ptr(sizeof(*resp), true);
	uint32_t log = one_in(4) ? below(32) : below(3);
	uint32_t n = log < 7 ? 1U << log : 128;
	size_t len;
	long ret;

	memset(resp_buf, 0, 64);
	req.cmd.comp_mask = one_in(8) ? rnd() : 0;
	req.cmd.log_ind_tbl_size = log;
	for (uint32_t i = 0; i < n; i++)
		req.wq_handles[i] = handle(WQ);
	/* The handles are padded to 8 bytes; sometimes too few are sent. */
	len = sizeof(req.cmd) + ((n < 2 ? 2 : n) * 4 + 7) / 8 * 8;
	if (one_in(10))
		len = sizeof(req.cmd) + below(n) * 4 / 8 * 8;
	ret = write_ex(IB_USER_VERBS_EX_CMD_CREATE_RWQ_IND_TBL, &req, len, NULL, 0, rp,
		       one_in(5) ? below(3) : sizeof(*resp) / 8, 0, "create_rwq_ind_table");
	if (ret >= 0 && rp == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(TBL, resp->ind_tbl_handle);
		n_created++;
	}
}

static void req_destroy_tbl(void)
{
	struct ib_uverbs_ex_destroy_rwq_ind_table cmd = { 0 };

	cmd.ind_tbl_handle = handle(TBL);
	cmd.comp_mask = one_in(8) ? rnd() : 0;
	if (write_ex(IB_USER_VERBS_EX_CMD_DESTROY_RWQ_IND_TBL, &cmd, sizeof(cmd), NULL, 0, 0, 0,
		     0, "destroy_rwq_ind_table") >= 0)
		forget_handle(TBL, cmd.ind_tbl_handle);
}

static uint32_t port(void)
{
	return one_in(3) ? (uint32_t)PICK(0, 3, 255, 0x100, 0xffffffff) : 1 + below(2);
}

static uint8_t qp_type(void)
{
	return one_in(5) ? (uint8_t)rnd() : IB_UVERBS_QPT_RAW_PACKET;
}

static void req_create_qp(void)
{
	struct ib_uverbs_create_qp cmd = { 0 };
	struct mana_ib_create_qp drv = { 0 };
	struct ib_uverbs_create_qp_resp *resp = (void *)resp_buf;
	size_t dlen;
	long ret;

	memset(resp_buf, 0, 128);
	cmd.response = user_ptr(sizeof(*resp) + sizeof(struct mana_ib_create_qp_resp), true);
	cmd.pd_handle = handle(PD);
	cmd.send_cq_handle = handle(CQ);
	cmd.recv_cq_handle = one_in(2) ? cmd.send_cq_handle : handle(CQ);
	cmd.srq_handle = one_in(10) ? rnd() : 0;
	cmd.max_send_wr = one_in(3) ? size_u32() : 256;
	cmd.max_send_sge = one_in(3) ? size_u32() : 1;
	cmd.max_recv_wr = one_in(4) ? size_u32() : 0;
	cmd.max_recv_sge = one_in(4) ? size_u32() : 0;
	cmd.max_inline_data = one_in(6) ? size_u32() : 0;
	cmd.sq_sig_all = one_in(2);
	cmd.qp_type = qp_type();
	cmd.is_srq = one_in(15);
	drv.sq_buf_size = queue_bytes();
	drv.sq_buf_addr = one_in(3) ? user_ptr(drv.sq_buf_size, false) : pool_buf(drv.sq_buf_size);
	drv.port = port();
	dlen = driver_data(&drv, sizeof(drv), false);
	ret = write_cmd(IB_USER_VERBS_CMD_CREATE_QP, &cmd, sizeof(cmd), drvbuf, dlen,
			resp_words(sizeof(*resp) + sizeof(struct mana_ib_create_qp_resp), sizeof(*resp)),
			"create_qp");
	if (ret >= 0 && cmd.response == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(QP, resp->qp_handle);
		n_created++;
	}
}

static void req_create_rss_qp(void)
{
	struct ib_uverbs_ex_create_qp cmd = { 0 };
	struct mana_ib_create_qp_rss drv = { 0 };
	struct ib_uverbs_ex_create_qp_resp *resp = (void *)resp_buf;
	uint64_t rp = user_ptr(sizeof(*resp), true);
	size_t dlen;
	long ret;

	memset(resp_buf, 0, PAGE);
	cmd.pd_handle = handle(PD);
	cmd.qp_type = qp_type();
	cmd.comp_mask = one_in(6) ? rnd() : IB_UVERBS_CREATE_QP_MASK_IND_TABLE;
	cmd.rwq_ind_tbl_handle = handle(TBL);
	cmd.create_flags = one_in(8) ? rnd() : 0;
	cmd.max_recv_wr = one_in(4) ? size_u32() : 0;
	cmd.max_recv_sge = one_in(4) ? size_u32() : 0;
	if (one_in(6)) {
		cmd.send_cq_handle = handle(CQ);
		cmd.max_send_wr = size_u32();
	}
	drv.rx_hash_fields_mask = one_in(3) ? rnd() : 0x3f;
	drv.rx_hash_function = one_in(4) ? (uint8_t)rnd() : MANA_IB_RX_HASH_FUNC_TOEPLITZ;
	drv.rx_hash_key_len = one_in(2) ? (uint8_t)PICK(0, 40, 41, 255, 1, 39) : 40;
	for (size_t i = 0; i < sizeof(drv.rx_hash_key); i++)
		drv.rx_hash_key[i] = rnd();
	drv.port = port();
	if (one_in(8))
		drv.reserved[below(sizeof(drv.reserved))] = rnd();
	dlen = driver_data(&drv, sizeof(drv), true);
	ret = write_ex(IB_USER_VERBS_EX_CMD_CREATE_QP, &cmd, sizeof(cmd), drvbuf, dlen, rp,
		       one_in(5) ? below(6) : sizeof(*resp) / 8,
		       drv_out_words(sizeof(struct mana_ib_create_qp_rss_resp) / 8), "create_rss_qp");
	if (ret >= 0 && rp == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(QP, resp->base.qp_handle);
		n_created++;
	}
}

static void req_destroy_qp(void)
{
	struct ib_uverbs_destroy_qp cmd = { 0 };

	cmd.response = user_ptr(8, true);
	cmd.qp_handle = handle(QP);
	if (write_cmd(IB_USER_VERBS_CMD_DESTROY_QP, &cmd, sizeof(cmd), NULL, 0,
		      resp_words(sizeof(struct ib_uverbs_destroy_qp_resp),
				 sizeof(struct ib_uverbs_destroy_qp_resp)), "destroy_qp") >= 0)
		forget_handle(QP, cmd.qp_handle);
}

static void req_query_qp(void)
{
	struct ib_uverbs_query_qp cmd = { 0 };

	cmd.response = user_ptr(sizeof(struct ib_uverbs_query_qp_resp), true);
	cmd.qp_handle = handle(QP);
	cmd.attr_mask = one_in(2) ? rnd() : 0;
	write_cmd(IB_USER_VERBS_CMD_QUERY_QP, &cmd, sizeof(cmd), NULL, 0,
		  resp_words(sizeof(struct ib_uverbs_query_qp_resp),
			     sizeof(struct ib_uverbs_query_qp_resp)), "query_qp");
}

static void req_modify_qp(void)
{
	struct ib_uverbs_modify_qp cmd;

	for (size_t i = 0; i < sizeof(cmd); i++)
		((uint8_t *)&cmd)[i] = one_in(3) ? rnd() : 0;
	cmd.qp_handle = handle(QP);
	write_cmd(IB_USER_VERBS_CMD_MODIFY_QP, &cmd, sizeof(cmd), NULL, 0, 0, "modify_qp");
}

static void req_reg_mr(void)
{
	struct ib_uverbs_reg_mr cmd = { 0 };
	struct ib_uverbs_reg_mr_resp *resp = (void *)resp_buf;
	uint32_t pages = 1 + below(8);
	size_t dlen = one_in(6) ? 8 : 0;
	long ret;

	memset(resp_buf, 0, 64);
	memset(drvbuf, 0, 16);
	if (dlen && one_in(2))
		drvbuf[0] = rnd();
	cmd.response = user_ptr(sizeof(*resp), true);
	cmd.length = one_in(3) ? (uint64_t)PICK(0, 1, 4095, 4097, 1ULL << 32, ~0ULL, rnd()) :
				 pages * PAGE;
	cmd.start = one_in(3) ? user_ptr(cmd.length, false) : pool_buf(pages * PAGE);
	cmd.hca_va = one_in(3) ? rnd() : cmd.start;
	cmd.pd_handle = handle(PD);
	cmd.access_flags = one_in(3) ? rnd() : (uint32_t)PICK(0, 1, 7, 0x20, 0x100000);
	ret = write_cmd(IB_USER_VERBS_CMD_REG_MR, &cmd, sizeof(cmd), drvbuf, dlen,
			resp_words(sizeof(*resp), sizeof(*resp)), "reg_mr");
	if (ret >= 0 && cmd.response == (uint64_t)(uintptr_t)resp_buf) {
		add_handle(MR, resp->mr_handle);
		n_created++;
	}
}

static void req_dereg_mr(void)
{
	struct ib_uverbs_dereg_mr cmd = { .mr_handle = handle(MR) };

	if (write_cmd(IB_USER_VERBS_CMD_DEREG_MR, &cmd, sizeof(cmd), NULL, 0, 0, "dereg_mr") >= 0)
		forget_handle(MR, cmd.mr_handle);
}

static void req_query(void)
{
	if (one_in(2)) {
		struct ib_uverbs_query_port cmd = { 0 };

		cmd.response = user_ptr(sizeof(struct ib_uverbs_query_port_resp), true);
		cmd.port_num = port();
		write_cmd(IB_USER_VERBS_CMD_QUERY_PORT, &cmd, sizeof(cmd), NULL, 0,
			  resp_words(sizeof(struct ib_uverbs_query_port_resp),
				     sizeof(struct ib_uverbs_query_port_resp)), "query_port");
	} else {
		struct ib_uverbs_ex_query_device cmd = { 0 };

		cmd.comp_mask = one_in(4) ? rnd() : 0;
		memset(drvbuf, 0, 8);
		if (one_in(2))
			drvbuf[below(8)] = rnd();
		write_ex(IB_USER_VERBS_EX_CMD_QUERY_DEVICE, &cmd, sizeof(cmd), drvbuf,
			 one_in(6) ? 8 : 0, user_ptr(sizeof(struct ib_uverbs_ex_query_device_resp),
						     true),
			 one_in(4) ? below(40) : sizeof(struct ib_uverbs_ex_query_device_resp) / 8,
			 one_in(6), "ex_query_device");
	}
}

/* A write() of a random command with random contents. */
static void req_random_write(void)
{
	uint32_t words = 2 + below(40);
	long ret;

	for (uint32_t i = 0; i < words * 4; i++)
		cmdbuf[i] = one_in(2) ? rnd() : 0;
	((struct ib_uverbs_cmd_hdr *)cmdbuf)->command =
		(one_in(3) ? IB_USER_VERBS_CMD_FLAG_EXTENDED : 0) | below(64);
	((struct ib_uverbs_cmd_hdr *)cmdbuf)->in_words = one_in(4) ? rnd() : words;
	((struct ib_uverbs_cmd_hdr *)cmdbuf)->out_words = below(64);
	/* The response pointer of legacy commands, or of the extended header: any length. */
	memcpy(cmdbuf + 8, &(uint64_t){ one_in(4) ? user_ptr(256, true) :
					(uint64_t)(uintptr_t)sink }, 8);
	ret = write(ufd, cmdbuf, one_in(10) ? below(words * 4) : words * 4);
	n_write++;
	tally(ret, errno, "random_write");
}

/* --- the ioctl() interface ----------------------------------------------------------------------- */

struct ioctl_req {
	struct ib_uverbs_ioctl_hdr hdr;
	struct ib_uverbs_attr attrs[16];
};

static long do_ioctl(struct ioctl_req *r, unsigned int nattrs, const char *what)
{
	long ret;

	r->hdr.num_attrs = nattrs;
	r->hdr.length = sizeof(r->hdr) + nattrs * sizeof(r->attrs[0]);
	if (one_in(30))
		r->hdr.length = below(sizeof(*r) + 8);
	if (one_in(30))
		r->hdr.reserved1 = rnd();
	if (one_in(20))
		r->hdr.driver_id = rnd();
	ret = ioctl(ufd, RDMA_VERBS_IOCTL, r);
	n_ioctl++;
	tally(ret, errno, what);
	return ret;
}

/*
 * An attribute pointing at `len` bytes of `data` (inline when they fit in 8 bytes); an output
 * attribute points into the sink, whatever its (fuzzed) length.
 */
static void attr_ptr(struct ib_uverbs_attr *a, uint16_t id, const void *data, size_t size,
		     uint16_t len, bool out)
{
	memset(a, 0, sizeof(*a));
	a->attr_id = id;
	a->len = len;
	if (out)
		a->data = (uint64_t)(uintptr_t)(sink + below(8) * 8);
	else if (len <= 8)
		memcpy(&a->data, data, len < size ? len : size);
	else {
		/* Inputs are copied into the sink: a length beyond `size` reads zeroes. */
		memset(sink + SINK_BYTES / 2, 0, len);
		memcpy(sink + SINK_BYTES / 2, data, len < size ? len : size);
		a->data = (uint64_t)(uintptr_t)(sink + SINK_BYTES / 2);
	}
	if (one_in(10) && !out)
		a->data = user_ptr(len, out);
	if (one_in(20))
		a->len = rnd();
	if (one_in(15))
		a->flags = rnd();
	else if (one_in(3))
		a->flags = UVERBS_ATTR_F_MANDATORY;
}

static void attr_val(struct ib_uverbs_attr *a, uint16_t id, uint64_t v, uint16_t len)
{
	attr_ptr(a, id, &v, sizeof(v), len, false);
}

/* CQ_CREATE through ioctl, with mana's create_cq as UHW_IN. */
static void req_ioctl_create_cq(void)
{
	struct ioctl_req r = { 0 };
	struct mana_ib_create_cq drv = { 0 };
	uint32_t cqe = cq_entries();
	unsigned int n = 0;
	long ret;

	r.hdr.object_id = one_in(10) ? below(24) : UVERBS_OBJECT_CQ;
	r.hdr.method_id = one_in(10) ? below(8) : UVERBS_METHOD_CQ_CREATE;
	fill_cq_drv(&drv, cqe);
	memset(&r.attrs[n], 0, sizeof(r.attrs[n]));
	r.attrs[n].attr_id = UVERBS_ATTR_CREATE_CQ_HANDLE;
	r.attrs[n++].flags = UVERBS_ATTR_F_MANDATORY;
	attr_val(&r.attrs[n++], UVERBS_ATTR_CREATE_CQ_CQE, cqe, 4);
	attr_val(&r.attrs[n++], UVERBS_ATTR_CREATE_CQ_USER_HANDLE, rnd(), 8);
	attr_val(&r.attrs[n++], UVERBS_ATTR_CREATE_CQ_COMP_VECTOR, below(3), 4);
	if (one_in(4))
		attr_val(&r.attrs[n++], UVERBS_ATTR_CREATE_CQ_FLAGS, rnd(), 4);
	if (one_in(8))
		attr_val(&r.attrs[n++], UVERBS_ATTR_CREATE_CQ_BUFFER_VA, user_ptr(PAGE, false), 8);
	attr_ptr(&r.attrs[n++], UVERBS_ATTR_CREATE_CQ_RESP_CQE, NULL, 0, 4, true);
	attr_ptr(&r.attrs[n++], UVERBS_ATTR_UHW_IN, &drv, sizeof(drv),
		 one_in(4) ? below(40) : sizeof(drv), false);
	attr_ptr(&r.attrs[n++], UVERBS_ATTR_UHW_OUT, NULL, 0,
		 one_in(4) ? below(40) : sizeof(struct mana_ib_create_cq_resp), true);
	if (one_in(6))
		attr_val(&r.attrs[n++], below(0x20) | (one_in(2) ? UVERBS_ID_DRIVER_NS : 0),
			 rnd(), below(9));
	ret = do_ioctl(&r, n, "ioctl_create_cq");
	if (ret >= 0 && r.hdr.object_id == UVERBS_OBJECT_CQ &&
	    r.hdr.method_id == UVERBS_METHOD_CQ_CREATE) {
		add_handle(CQ, (uint32_t)r.attrs[0].data);
		n_created++;
	}
}

static void req_ioctl_destroy(void)
{
	struct ioctl_req r = { 0 };
	static const struct { uint16_t obj, method; int type; } m[] = {
		{ UVERBS_OBJECT_CQ, UVERBS_METHOD_CQ_DESTROY, CQ },
		{ UVERBS_OBJECT_QP, UVERBS_METHOD_QP_DESTROY, QP },
		{ UVERBS_OBJECT_WQ, UVERBS_METHOD_WQ_DESTROY, WQ },
		{ UVERBS_OBJECT_MR, UVERBS_METHOD_MR_DESTROY, MR },
		{ UVERBS_OBJECT_PD, UVERBS_METHOD_PD_DESTROY, PD },
		{ UVERBS_OBJECT_RWQ_IND_TBL, UVERBS_METHOD_RWQ_IND_TBL_DESTROY, TBL },
	};
	int i = below(sizeof(m) / sizeof(m[0]));
	uint32_t h = handle(m[i].type);
	unsigned int n = 0;

	r.hdr.object_id = m[i].obj;
	r.hdr.method_id = m[i].method;
	memset(&r.attrs[n], 0, sizeof(r.attrs[n]));
	r.attrs[n].attr_id = 0;	/* every *_DESTROY_HANDLE is attribute 0 */
	r.attrs[n].data = h;
	r.attrs[n++].flags = UVERBS_ATTR_F_MANDATORY;
	if (m[i].type == CQ || m[i].type == QP || m[i].type == WQ)
		attr_ptr(&r.attrs[n++], 1, NULL, 0, sizeof(struct ib_uverbs_destroy_cq_resp), true);
	if (do_ioctl(&r, n, "ioctl_destroy") >= 0)
		forget_handle(m[i].type, h);
}

/* An ioctl with random object, method and attributes. */
static void req_random_ioctl(void)
{
	struct ioctl_req r = { 0 };
	static uint8_t blob[256];
	unsigned int n = below(10);

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = one_in(2) ? rnd() : 0;
	r.hdr.object_id = one_in(4) ? rnd() : below(24) | (one_in(6) ? UVERBS_ID_DRIVER_NS : 0);
	r.hdr.method_id = one_in(4) ? rnd() : below(12) | (one_in(6) ? UVERBS_ID_DRIVER_NS : 0);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t id = one_in(5) ? rnd() : below(16) | (one_in(4) ? UVERBS_ID_DRIVER_NS : 0);

		if (one_in(3))
			attr_val(&r.attrs[i], id, one_in(2) ? handle(below(NTYPES)) : rnd(),
				 below(9));
		else
			attr_ptr(&r.attrs[i], id, blob, sizeof(blob), below(sizeof(blob)), one_in(2));
	}
	do_ioctl(&r, n, "random_ioctl");
}

/* --- mmap --------------------------------------------------------------------------------------- */

static void req_mmap(void)
{
	uint64_t off = one_in(2) ? 0 : PICK(1, 2, 3, 0x100, 0xfffff, rnd() & 0xffffffff) * PAGE;
	size_t len = one_in(4) ? (size_t)PICK(0, 1, 2 * PAGE, 16 * PAGE) : PAGE;
	int prot = one_in(4) ? (int)PICK(PROT_READ, PROT_READ | PROT_EXEC, PROT_NONE) :
			       PROT_WRITE;
	void *p;

	p = mmap(NULL, len, prot, one_in(8) ? MAP_PRIVATE : MAP_SHARED, ufd, off);
	n_mmap++;
	tally(p == MAP_FAILED ? -1 : 0, errno, "mmap");
	if (p == MAP_FAILED)
		return;
	/* A doorbell page: ring it with garbage now and then. */
	if (prot & PROT_WRITE && len >= PAGE && one_in(4)) {
		for (int i = 0; i < 4; i++)
			((volatile uint64_t *)p)[below(PAGE / 8)] = rnd();
	}
	munmap(p, len);
}

/* --- libibverbs, the ordinary path ----------------------------------------------------------- */

static struct ibv_device *ibdev;

static void req_libibverbs(void)
{
	struct ibv_context *ctx = ibv_open_device(ibdev);
	struct ibv_device_attr_ex attr;
	struct ibv_port_attr pattr;
	struct ibv_pd *pd;
	long ret = -1;

	if (ctx) {
		ret = ibv_query_device_ex(ctx, NULL, &attr);
		if (!ret)
			ret = ibv_query_port(ctx, 1, &pattr);
		pd = ibv_alloc_pd(ctx);
		if (pd)
			ibv_dealloc_pd(pd);
		else
			ret = -1;
		ibv_close_device(ctx);
	}
	tally(ret ? -1 : 0, ret ? (errno ? errno : EIO) : 0, "libibverbs");
}

/* --- the run ------------------------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *current_op = "start";

/*
 * The known hazards first, deterministically: valid objects, then each create with a read-only
 * response buffer sized for the core's response only (the abort path of issue 13: the core
 * aborts the new object and destroys it with the create request's udata).
 */
static void hazards(void)
{
	static void (*const build[])(void) = {
		req_alloc_pd, req_alloc_pd, req_create_cq, req_create_cq, req_create_cq,
		req_create_cq, req_create_wq, req_create_tbl,
	};
	static void (*const abort_cases[])(void) = {
		req_alloc_pd, req_create_cq, req_ex_create_cq, req_create_wq, req_create_tbl,
		req_reg_mr, req_create_qp, req_create_rss_qp,
	};

	current_op = "hazards";
	sane = true;
	for (size_t i = 0; i < sizeof(build) / sizeof(build[0]); i++)
		build[i]();
	ro_resp = true;
	for (size_t i = 0; i < sizeof(abort_cases) / sizeof(abort_cases[0]); i++)
		abort_cases[i]();
	ro_resp = false;
	sane = false;
}

#define RUN(f) do { current_op = #f; f(); } while (0)

/* A crash of the fuzzer itself: say where, for the replay. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char line[160];
	int n;

	(void)uc;
	n = snprintf(line, sizeof(line), "uverbs_fuzz: signal %d at %p in request %lu (%s)\n", sig,
		     si->si_addr, n_req + 1, current_op);
	if (write(2, line, n) < 0)
		_exit(3);
	_exit(3);
}

static void one_request(void)
{
	/* Creates are weighted against destroys so that objects pile up, then go. */
	switch (below(40)) {
	case 0 ... 2: RUN(req_alloc_pd); break;
	case 3: RUN(req_dealloc_pd); break;
	case 4 ... 6: RUN(req_create_cq); break;
	case 7 ... 8: RUN(req_ex_create_cq); break;
	case 9 ... 10: RUN(req_destroy_cq); break;
	case 11 ... 13: RUN(req_create_wq); break;
	case 14: RUN(req_destroy_wq); break;
	case 15 ... 16: RUN(req_create_tbl); break;
	case 17: RUN(req_destroy_tbl); break;
	case 18 ... 20: RUN(req_create_qp); break;
	case 21 ... 22: RUN(req_create_rss_qp); break;
	case 23 ... 24: RUN(req_destroy_qp); break;
	case 25: RUN(req_query_qp); break;
	case 26: RUN(req_modify_qp); break;
	case 27 ... 28: RUN(req_reg_mr); break;
	case 29: RUN(req_dereg_mr); break;
	case 30: RUN(req_query); break;
	case 31 ... 32: RUN(req_random_write); break;
	case 33 ... 34: RUN(req_random_ioctl); break;
	case 35: RUN(req_ioctl_create_cq); break;
	case 36: RUN(req_ioctl_destroy); break;
	case 37: RUN(req_mmap); break;
	case 38: if (one_in(8)) RUN(req_libibverbs); else RUN(req_query); break;
	default:
		/* Close with whatever is open (the core destroys it all), and start over. */
		if (one_in(6))
			{ current_op = "reopen"; open_ctx(one_in(3)); }
		else
			RUN(req_alloc_pd);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: uverbs_fuzz [-d IBDEV] [-s SEED] [-t SECONDS] [-n REQUESTS] [-c CONTEXTS] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dev_name = "manae_0";
	unsigned long max_req = 0, contexts = 0;
	double limit = 30, start, elapsed;
	struct ibv_device **list;
	uint64_t seed;
	char path[256];
	int c, n, rc = 0;

	seed = (uint64_t)time(NULL) * 2654435761ULL ^ (uint64_t)getpid();
	while ((c = getopt(argc, argv, "d:s:t:n:c:v")) != -1) {
		switch (c) {
		case 'd': dev_name = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': limit = atof(optarg); break;
		case 'n': max_req = strtoul(optarg, NULL, 0); break;
		case 'c': contexts = strtoul(optarg, NULL, 0); break;
		case 'v': verbose = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };

		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
	}
	rng_state = seed;
	printf("uverbs_fuzz: seed %llu, device %s, uid %d, at most %.0f s%s\n",
	       (unsigned long long)seed, dev_name, (int)getuid(), limit,
	       max_req ? ", request limit set" : "");

	list = ibv_get_device_list(&n);
	for (int i = 0; list && i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev_name))
			ibdev = list[i];
	if (!ibdev) {
		printf("uverbs_fuzz: no RDMA device %s\n", dev_name);
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/infiniband/%s", ibdev->dev_name);
	uverbs_path = path;
	if (map_memory()) {
		perror("uverbs_fuzz: mmap");
		return 1;
	}
	if (open_ctx(false)) {
		printf("uverbs_fuzz: %s: no user context: a well-formed GET_CONTEXT failed: %s\n",
		       uverbs_path, strerror(errno));
		return 1;
	}

	start = now();
	if (contexts) {
		/* Only contexts: each well-formed GET_CONTEXT on a new file, the last one closed. */
		for (unsigned long i = 1; i < contexts; i++) {
			if (open_ctx(false)) {
				printf("uverbs_fuzz: %s: context %lu of %lu: a well-formed "
				       "GET_CONTEXT failed: %s\n",
				       uverbs_path, i + 1, contexts, strerror(errno));
				rc = 1;
				break;
			}
		}
		goto out;
	}
	hazards();
	while ((!max_req || n_req < max_req) && now() - start < limit) {
		/*
		 * The context the fuzzer closed or the kernel refused (a hostile reopen) is replaced
		 * by a well-formed one, which the kernel must accept.
		 */
		if (!have_ctx && open_ctx(false)) {
			printf("uverbs_fuzz: %s: request %lu: a well-formed GET_CONTEXT failed: %s\n",
			       uverbs_path, n_req, strerror(errno));
			rc = 1;
			break;
		}
		one_request();
	}
out:
	elapsed = now() - start;
	close_ctx();
	ibv_free_device_list(list);

	printf("uverbs_fuzz: seed %llu: %lu requests in %.1f s (%lu write, %lu ioctl, %lu mmap), "
	       "%lu created, %lu ok, errnos:", (unsigned long long)seed, n_req, elapsed, n_write,
	       n_ioctl, n_mmap, n_created, n_ok);
	for (int e = 1; e <= MAX_ERRNO; e++)
		if (errnos[e])
			printf(" %s x%lu", strerrorname_np(e), errnos[e]);
	if (errnos[0])
		printf(" other x%lu", errnos[0]);
	printf("\nuverbs_fuzz: replay with: uverbs_fuzz -d %s -s %llu -n %lu\n", dev_name,
	       (unsigned long long)seed, n_req);
	return rc;
}
