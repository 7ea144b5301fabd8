// SPDX-License-Identifier: GPL-2.0-only
/*
 * raw_qp: creates raw-packet QPs on a MANA IB device the way DPDK's MANA PMD does
 * (drivers/net/mana: mana_probe_port, mana_dev_configure, mana_start_tx_queues,
 * mana_start_rx_queues), with rdma-core's libibverbs and libmana (manadv):
 *
 *   ibv_open_device -> ibv_query_device_ex (vendor_part_id, raw_packet_caps, ports)
 *   -> the port's netdev from <ibdev>/device/net/<if>/dev_port (reported only)
 *   -> ibv_alloc_pd -> ibv_alloc_parent_domain (pd_context = IB port)
 *   -> manadv_set_context_attr(BUF_ALLOCATORS)
 *   TX, per queue: ibv_create_cq -> ibv_create_qp(RAW_PACKET, parent domain) -> manadv_init_obj
 *   RX, per queue: ibv_create_cq -> ibv_create_wq(RQ, parent domain); then
 *       ibv_create_rwq_ind_table -> ibv_create_qp_ex(RAW_PACKET, RX hash, Toeplitz)
 *       -> manadv_init_obj(CQ | RWQ)
 *
 * and destroys them in DPDK's order (mana_stop_tx_queues, mana_stop_rx_queues, mana_dev_close).
 * The device checks DPDK makes before using a port (vendor_part_id, raw_packet_caps, the port's
 * netdev in sysfs) are reported as check_device / port_netdev lines and do not stop the run.
 * Every step prints one line, "<step>: ok" or "<step>: <ERRNO NAME> (<message>)", e.g.
 * "create_qp tx0: EBUSY (Device or resource busy)"; the exit status is 0 when everything
 * asked for succeeded, 1 otherwise, 2 on a usage error.
 *
 * Modes:
 *   hold      create, print "holding ...", wait for a line on stdin or SIGINT/SIGTERM, destroy
 *   once      create and destroy
 *   loop [N]  create and destroy N times (0 or none: until SIGINT/SIGTERM); prints only the
 *             failures that differ from the previous one and a summary line at the end:
 *             "loop: A attempts, C created, EBUSY xK, ..."
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <infiniband/manadv.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_QUEUES 16

static const char *dev_name;
static int ib_port = 1;
static int n_tx = 1, n_rx = 1;
static int n_desc = 256;
static bool quiet;		/* loop mode: only failures and the summary */
static volatile sig_atomic_t stop;

struct queues {
	struct ibv_context *ctx;
	struct ibv_pd *pd, *parent;
	struct ibv_cq *tx_cq[MAX_QUEUES], *rx_cq[MAX_QUEUES];
	struct ibv_qp *tx_qp[MAX_QUEUES];
	struct ibv_wq *wq[MAX_QUEUES];
	struct ibv_rwq_ind_table *ind;
	struct ibv_qp *rss_qp;
};

/* The errno of the last failed step, for the loop summary. */
static int last_err;

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static void report(const char *step, int err, const char *fmt, ...)
{
	char what[128] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
	}
	if (err) {
		last_err = err;
		if (!quiet)
			printf("%s%s%s: %s (%s)\n", step, *what ? " " : "", what, errname(err),
			       strerror(err));
	} else if (!quiet) {
		printf("%s%s%s: ok\n", step, *what ? " " : "", what);
	}
	fflush(stdout);
}

/* Verbs return NULL and set errno; keep a non-zero value even if a library forgot to set it. */
static int verr(void)
{
	return errno ? errno : EIO;
}

/* DPDK's mana_alloc_verbs_buf: zeroed, page-aligned memory for the rings libmana maps. */
static void *alloc_buf(size_t size, void *data)
{
	void *p = NULL;
	long page = sysconf(_SC_PAGESIZE);

	(void)data;
	if (posix_memalign(&p, page, (size + page - 1) / page * page))
		return NULL;
	memset(p, 0, size);
	return p;
}

static void free_buf(void *p, void *data)
{
	(void)data;
	free(p);
}

static struct ibv_device *find_device(struct ibv_device **list, int n)
{
	for (int i = 0; i < n; i++) {
		const char *name = ibv_get_device_name(list[i]);

		if (dev_name ? !strcmp(name, dev_name) : !strncmp(name, "manae_", 6))
			return list[i];
	}
	return NULL;
}

/* DPDK's GDMA_DEVICE_MANA: the vendor_part_id of a MANA IB device. */
#define GDMA_DEVICE_MANA 2

/*
 * DPDK's get_port_mac: the netdev of IB port N is the one under <ibdev>/device/net whose
 * dev_port is N - 1. Reported, not fatal: DPDK would skip the port, and the QP steps below are
 * still worth running.
 */
static void find_port_netdev(struct ibv_device *dev)
{
	char path[1024], buf[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/device/net", dev->ibdev_path);
	d = opendir(path);
	if (!d) {
		report("port_netdev", errno, "port %d (%s)", ib_port, path);
		return;
	}
	while ((e = readdir(d))) {
		FILE *f;
		unsigned int dev_port;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/device/net/%s/dev_port", dev->ibdev_path, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%u", &dev_port) != 1)
			dev_port = ~0u;
		fclose(f);
		if (dev_port != (unsigned int)ib_port - 1)
			continue;
		snprintf(path, sizeof(path), "%s/device/net/%s/address", dev->ibdev_path, e->d_name);
		f = fopen(path, "r");
		if (!f || !fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		if (f)
			fclose(f);
		buf[strcspn(buf, "\n")] = 0;
		report("port_netdev", 0, "port %d: %s %s", ib_port, e->d_name, buf);
		closedir(d);
		return;
	}
	closedir(d);
	report("port_netdev", ENOENT, "port %d (no netdev with dev_port %d under %s/device/net)",
	       ib_port, ib_port - 1, dev->ibdev_path);
}

/*
 * Checks the device as DPDK's mana_pci_probe_mac does before probing a port. A device DPDK
 * would skip is reported ("check_device ...: ENODEV ... DPDK skips it") but the QP steps still
 * run, so that both the compatibility gap and the ownership rule stay visible; only a port the
 * device does not have stops here.
 */
static int query_device(struct ibv_context *ctx)
{
	struct ibv_device_attr_ex attr = {};
	int err = ibv_query_device_ex(ctx, NULL, &attr);

	if (err) {
		report("query_device_ex", err, NULL);
		return err;
	}
	report("query_device_ex", 0, "vendor_part_id %#x ports %u raw_packet_caps %#x max_qp %d max_qp_wr %d max_cqe %d max_sge %d",
	       attr.orig_attr.vendor_part_id, attr.orig_attr.phys_port_cnt, attr.raw_packet_caps,
	       attr.orig_attr.max_qp, attr.orig_attr.max_qp_wr, attr.orig_attr.max_cqe,
	       attr.orig_attr.max_sge);
	if (attr.orig_attr.vendor_part_id && attr.orig_attr.vendor_part_id != GDMA_DEVICE_MANA)
		report("check_device", ENODEV,
		       "vendor_part_id %#x is not GDMA_DEVICE_MANA (%#x): DPDK skips this device",
		       attr.orig_attr.vendor_part_id, GDMA_DEVICE_MANA);
	else if (attr.orig_attr.vendor_part_id && !attr.raw_packet_caps)
		report("check_device", EOPNOTSUPP, "no raw_packet_caps: DPDK skips this device");
	else
		report("check_device", 0, "as DPDK's probe");
	if (ib_port > attr.orig_attr.phys_port_cnt) {
		report("check_port", EINVAL, "port %d > phys_port_cnt %u", ib_port,
		       attr.orig_attr.phys_port_cnt);
		return EINVAL;
	}
	return 0;
}

/* Opens the device and makes the parent domain (mana_probe_port). */
static int open_port(struct queues *q)
{
	struct ibv_parent_domain_init_attr pattr = {};
	struct ibv_device **list;
	struct ibv_device *dev;
	int n, err = 0;

	errno = 0;
	list = ibv_get_device_list(&n);
	if (!list) {
		err = verr();
		report("get_device_list", err, NULL);
		return err;
	}
	dev = find_device(list, n);
	if (!dev) {
		report("find_device", ENODEV, "%s", dev_name ? dev_name : "manae_*");
		ibv_free_device_list(list);
		return ENODEV;
	}
	errno = 0;
	q->ctx = ibv_open_device(dev);
	if (!q->ctx)
		err = verr();
	report("open_device", err, "%s", ibv_get_device_name(dev));
	if (!err) {
		err = query_device(q->ctx);
		if (!err)
			find_port_netdev(dev);
	}
	ibv_free_device_list(list);
	if (err)
		return err;

	errno = 0;
	q->pd = ibv_alloc_pd(q->ctx);
	if (!q->pd) {
		err = verr();
		report("alloc_pd", err, NULL);
		return err;
	}
	report("alloc_pd", 0, NULL);

	pattr.pd = q->pd;
	pattr.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;
	pattr.pd_context = (void *)(uintptr_t)ib_port;
	errno = 0;
	q->parent = ibv_alloc_parent_domain(q->ctx, &pattr);
	if (!q->parent) {
		err = verr();
		report("alloc_parent_domain", err, "port %d", ib_port);
		return err;
	}
	report("alloc_parent_domain", 0, "port %d", ib_port);

	/* mana_dev_configure, and again before each queue as mana_start_*_queues do. */
	err = manadv_set_context_attr(q->ctx, MANADV_CTX_ATTR_BUF_ALLOCATORS,
				      &(struct manadv_ctx_allocators){
					      .alloc = alloc_buf, .free = free_buf, .data = NULL });
	report("set_context_attr", err < 0 ? -err : err, "buf_allocators");
	return err < 0 ? -err : err;
}

/* mana_start_tx_queues. */
static int create_tx(struct queues *q)
{
	int err;

	for (int i = 0; i < n_tx; i++) {
		struct ibv_qp_init_attr attr = {};
		struct manadv_obj obj = {};
		struct manadv_qp dv_qp;
		struct manadv_cq dv_cq;

		errno = 0;
		q->tx_cq[i] = ibv_create_cq(q->ctx, n_desc, NULL, NULL, 0);
		if (!q->tx_cq[i]) {
			err = verr();
			report("create_cq", err, "tx%d", i);
			return err;
		}
		report("create_cq", 0, "tx%d", i);

		attr.send_cq = q->tx_cq[i];
		attr.recv_cq = q->tx_cq[i];
		attr.cap.max_send_wr = n_desc;
		attr.cap.max_send_sge = 1;
		attr.qp_type = IBV_QPT_RAW_PACKET;
		attr.sq_sig_all = 0;
		errno = 0;
		q->tx_qp[i] = ibv_create_qp(q->parent, &attr);
		if (!q->tx_qp[i]) {
			err = verr();
			report("create_qp", err, "tx%d", i);
			return err;
		}
		report("create_qp", 0, "tx%d", i);

		obj.qp.in = q->tx_qp[i];
		obj.qp.out = &dv_qp;
		obj.cq.in = q->tx_cq[i];
		obj.cq.out = &dv_cq;
		err = manadv_init_obj(&obj, MANADV_OBJ_QP | MANADV_OBJ_CQ);
		if (err) {
			report("init_obj", err < 0 ? -err : err, "tx%d", i);
			return err < 0 ? -err : err;
		}
		report("init_obj", 0, "tx%d sq_id %u sq_count %u tx_vp_offset %u cq_id %u", i,
		       dv_qp.sq_id, dv_qp.sq_count, dv_qp.tx_vp_offset, dv_cq.cq_id);
	}
	return 0;
}

/* mana_start_rx_queues. */
static int create_rx(struct queues *q)
{
	static uint8_t key[40] = {	/* DPDK's mana_rss_hash_key_default */
		0x2c, 0xc6, 0x81, 0xd1, 0x5b, 0xdb, 0xf4, 0xf7, 0xfc, 0xa2,
		0x83, 0x19, 0xdb, 0x1a, 0x3e, 0x94, 0x6b, 0x9e, 0x38, 0xd9,
		0x2c, 0x9c, 0x03, 0xd1, 0xad, 0x99, 0x44, 0xa7, 0xd9, 0x56,
		0x3d, 0x59, 0x06, 0x3c, 0x25, 0xf3, 0xfc, 0x1f, 0xdc, 0x2a,
	};
	int log_size = 0, err;

	if (!n_rx)
		return 0;
	for (int i = 0; i < n_rx; i++) {
		struct ibv_wq_init_attr wattr = {};

		errno = 0;
		q->rx_cq[i] = ibv_create_cq(q->ctx, n_desc, NULL, NULL, 0);
		if (!q->rx_cq[i]) {
			err = verr();
			report("create_cq", err, "rx%d", i);
			return err;
		}
		report("create_cq", 0, "rx%d", i);

		wattr.wq_type = IBV_WQT_RQ;
		wattr.max_wr = n_desc;
		wattr.max_sge = 1;
		wattr.pd = q->parent;
		wattr.cq = q->rx_cq[i];
		errno = 0;
		q->wq[i] = ibv_create_wq(q->ctx, &wattr);
		if (!q->wq[i]) {
			err = verr();
			report("create_wq", err, "rx%d", i);
			return err;
		}
		report("create_wq", 0, "rx%d", i);
	}

	while ((1 << log_size) < n_rx)
		log_size++;
	errno = 0;
	q->ind = ibv_create_rwq_ind_table(q->ctx, &(struct ibv_rwq_ind_table_init_attr){
		.log_ind_tbl_size = log_size, .ind_tbl = q->wq, .comp_mask = 0 });
	if (!q->ind) {
		err = verr();
		report("create_rwq_ind_table", err, "size %d", 1 << log_size);
		return err;
	}
	report("create_rwq_ind_table", 0, "size %d", 1 << log_size);

	errno = 0;
	q->rss_qp = ibv_create_qp_ex(q->ctx, &(struct ibv_qp_init_attr_ex){
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_RX_HASH |
			     IBV_QP_INIT_ATTR_IND_TABLE,
		.qp_type = IBV_QPT_RAW_PACKET,
		.pd = q->parent,
		.rwq_ind_tbl = q->ind,
		.rx_hash_conf = {
			.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ,
			.rx_hash_key_len = sizeof(key),
			.rx_hash_key = key,
			.rx_hash_fields_mask = IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4,
		},
	});
	if (!q->rss_qp) {
		err = verr();
		report("create_qp_ex", err, "rss");
		return err;
	}
	report("create_qp_ex", 0, "rss");

	for (int i = 0; i < n_rx; i++) {
		struct manadv_obj obj = {};
		struct manadv_cq dv_cq;
		struct manadv_rwq dv_wq;

		obj.cq.in = q->rx_cq[i];
		obj.cq.out = &dv_cq;
		obj.rwq.in = q->wq[i];
		obj.rwq.out = &dv_wq;
		err = manadv_init_obj(&obj, MANADV_OBJ_CQ | MANADV_OBJ_RWQ);
		if (err) {
			report("init_obj", err < 0 ? -err : err, "rx%d", i);
			return err < 0 ? -err : err;
		}
		report("init_obj", 0, "rx%d wq_id %u wq_count %u cq_id %u", i, dv_wq.wq_id,
		       dv_wq.count, dv_cq.cq_id);
	}
	return 0;
}

/* Destroys whatever exists, in DPDK's order; returns the first error. */
static int destroy_all(struct queues *q)
{
	int first = 0, err;

#define DESTROY(obj, fn, ...)                                            \
	do {                                                              \
		if (obj) {                                                \
			err = fn(obj);                                    \
			report(#fn + 4, err, __VA_ARGS__);                \
			if (err && !first)                                \
				first = err;                              \
			obj = NULL;                                       \
		}                                                         \
	} while (0)

	for (int i = 0; i < n_tx; i++) {
		DESTROY(q->tx_qp[i], ibv_destroy_qp, "tx%d", i);
		DESTROY(q->tx_cq[i], ibv_destroy_cq, "tx%d", i);
	}
	DESTROY(q->rss_qp, ibv_destroy_qp, "rss");
	DESTROY(q->ind, ibv_destroy_rwq_ind_table, NULL);
	for (int i = 0; i < n_rx; i++) {
		DESTROY(q->wq[i], ibv_destroy_wq, "rx%d", i);
		DESTROY(q->rx_cq[i], ibv_destroy_cq, "rx%d", i);
	}
	DESTROY(q->parent, ibv_dealloc_pd, "parent_domain");
	DESTROY(q->pd, ibv_dealloc_pd, NULL);
	DESTROY(q->ctx, ibv_close_device, NULL);
#undef DESTROY
	return first;
}

static int create_all(struct queues *q)
{
	int err;

	memset(q, 0, sizeof(*q));
	err = open_port(q);
	if (!err)
		err = create_tx(q);
	if (!err)
		err = create_rx(q);
	return err;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Waits for a line on stdin (ignored once it reaches end of file) or SIGINT/SIGTERM. */
static void wait_release(void)
{
	sigset_t block, orig;
	bool stdin_open = true;
	char buf[256];

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	while (!stop) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int r = ppoll(&pfd, stdin_open ? 1 : 0, NULL, &orig);

		if (r > 0) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n > 0 && memchr(buf, '\n', n))
				break;
			if (n <= 0)
				stdin_open = false;
		}
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: raw_qp [-d DEVICE] [-p PORT] [-t TXQ] [-r RXQ] [-n DESC] hold|once|loop [N]\n"
		"  -d  IB device (default: the first manae_*)\n"
		"  -p  IB port, 1-based (default 1; DPDK's pd_context)\n"
		"  -t  TX queues: one RAW_PACKET QP each (default 1)\n"
		"  -r  RX queues: one WQ each under an RSS QP (default 1; 0: no RX side)\n"
		"  -n  descriptors per queue (default 256)\n"
		"  hold: create, wait for a line on stdin or SIGINT/SIGTERM, destroy\n"
		"  once: create and destroy\n"
		"  loop [N]: create and destroy N times (default: until SIGINT/SIGTERM)\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct queues q;
	const char *mode;
	int opt, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "d:p:t:r:n:h")) != -1) {
		switch (opt) {
		case 'd': dev_name = optarg; break;
		case 'p': ib_port = atoi(optarg); break;
		case 't': n_tx = atoi(optarg); break;
		case 'r': n_rx = atoi(optarg); break;
		case 'n': n_desc = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || n_tx < 0 || n_tx > MAX_QUEUES || n_rx < 0 || n_rx > MAX_QUEUES ||
	    (n_rx & (n_rx - 1)) || ib_port < 1 || n_desc < 1) {
		usage(stderr);
		return 2;
	}
	mode = argv[optind];
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (!strcmp(mode, "hold") || !strcmp(mode, "once")) {
		err = create_all(&q);
		if (!err && !strcmp(mode, "hold")) {
			printf("holding %d TX QP(s) and %s on %s port %d: press Enter or send SIGTERM to destroy\n",
			       n_tx, n_rx ? "an RSS QP" : "no RSS QP",
			       ibv_get_device_name(q.ctx->device), ib_port);
			fflush(stdout);
			wait_release();
		}
		if (destroy_all(&q) && !err)
			err = 1;
		printf("%s: %s\n", mode, err ? "FAILED" : "done");
		return err ? 1 : 0;
	}
	if (!strcmp(mode, "loop")) {
		long n = optind + 1 < argc ? atol(argv[optind + 1]) : 0;
		long attempts = 0, created = 0;
		int counts[4096] = {};
		int prev = -1;
		char line[1024];
		size_t len;

		sigset_t block, orig;

		/* A signal ends the loop between attempts, never inside a verb (no EINTR). */
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		quiet = true;
		for (; !stop && (n == 0 || attempts < n); attempts++) {
			sigprocmask(SIG_BLOCK, &block, &orig);
			last_err = 0;
			err = create_all(&q);
			destroy_all(&q);
			sigprocmask(SIG_SETMASK, &orig, NULL);
			if (!err) {
				created++;
			} else if (last_err > 0 && last_err < 4096) {
				counts[last_err]++;
			}
			if (err && last_err != prev)
				printf("loop: attempt %ld: %s\n", attempts + 1, errname(last_err));
			prev = err ? last_err : 0;
		}
		len = snprintf(line, sizeof(line), "loop: %ld attempts, %ld created", attempts,
			       created);
		for (int e = 1; e < 4096 && len < sizeof(line) - 32; e++)
			if (counts[e])
				len += snprintf(line + len, sizeof(line) - len, ", %s x%d", errname(e),
						counts[e]);
		puts(line);
		return created == attempts ? 0 : 1;
	}
	usage(stderr);
	return 2;
}
