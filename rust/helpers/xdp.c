// SPDX-License-Identifier: GPL-2.0

#include <linux/bpf.h>
#include <linux/bpf_trace.h>
#include <linux/fdtable.h>
#include <linux/filter.h>
#include <linux/netdevice.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/smp.h>
#include <net/xdp.h>

#ifdef CONFIG_NET

__rust_helper void rust_helper_xdp_init_buff(struct xdp_buff *xdp, u32 frame_sz,
					     struct xdp_rxq_info *rxq)
{
	xdp_init_buff(xdp, frame_sz, rxq);
}

__rust_helper void rust_helper_xdp_prepare_buff(struct xdp_buff *xdp,
						unsigned char *hard_start,
						int headroom, int data_len,
						const bool meta_valid)
{
	xdp_prepare_buff(xdp, hard_start, headroom, data_len, meta_valid);
}

__rust_helper u32 rust_helper_bpf_prog_run_xdp(const struct bpf_prog *prog,
					       struct xdp_buff *xdp)
{
	return bpf_prog_run_xdp(prog, xdp);
}

__rust_helper int rust_helper_xdp_rxq_info_reg(struct xdp_rxq_info *xdp_rxq,
					       struct net_device *dev,
					       u32 queue_index,
					       unsigned int napi_id)
{
	return xdp_rxq_info_reg(xdp_rxq, dev, queue_index, napi_id);
}

__rust_helper void rust_helper_trace_xdp_exception(const struct net_device *dev,
						   const struct bpf_prog *xdp,
						   u32 act)
{
	trace_xdp_exception(dev, xdp, act);
}

__rust_helper void rust_helper_netlink_set_err_msg(struct netlink_ext_ack *extack,
						   const char *msg)
{
	do_trace_netlink_extack(msg);
	if (extack)
		extack->_msg = msg;
}

__rust_helper void rust_helper___netif_tx_lock_this_cpu(struct netdev_queue *txq)
{
	__netif_tx_lock(txq, smp_processor_id());
}

__rust_helper void rust_helper___netif_tx_unlock(struct netdev_queue *txq)
{
	__netif_tx_unlock(txq);
}

__rust_helper unsigned int rust_helper_xdp_frame_len(const struct xdp_frame *frame)
{
	return frame->len;
}

__rust_helper bool rust_helper_bpf_prog_xdp_has_frags(const struct bpf_prog *prog)
{
	return prog->aux->xdp_has_frags;
}

__rust_helper u32 rust_helper_bpf_prog_id(const struct bpf_prog *prog)
{
	return prog->aux->id;
}

#if IS_ENABLED(CONFIG_KUNIT) && IS_ENABLED(CONFIG_BPF_SYSCALL)

/* dev_change_xdp_fd(): the core's entry for native XDP attachment (rtnetlink's path). */
#include "../../net/core/dev.h"

/*
 * The bpf() system call's kernel entry, declared by its definition (kernel/bpf/syscall.c) and,
 * for the light skeletons the kernel loads, by tools/lib/bpf/skel_internal.h: no kernel header
 * declares it.
 */
int kern_sys_bpf(int cmd, union bpf_attr *attr, unsigned int size);

/*
 * KUnit only: loads an XDP program through the bpf() system call's kernel entry, so that the
 * verifier checks it and resolves its helper calls as for a program from user space. The
 * program returns `action`, or with `redirect_ifindex` > 0 returns bpf_redirect() to that
 * interface; with `frags`, it is loaded for multi-buffer frames (the `xdp.frags` section of
 * libbpf: BPF_F_XDP_HAS_FRAGS). Returns the program's file descriptor (in the calling thread's
 * table) or an error.
 */
__rust_helper int rust_helper_xdp_testing_prog_load(u32 action, int redirect_ifindex,
						    bool frags)
{
	struct bpf_insn ret_action[] = {
		BPF_MOV64_IMM(BPF_REG_0, action),
		BPF_EXIT_INSN(),
	};
	struct bpf_insn redirect[] = {
		BPF_MOV64_IMM(BPF_REG_1, redirect_ifindex),
		BPF_MOV64_IMM(BPF_REG_2, 0),
		/* A call by helper id, as user space writes it (not BPF_EMIT_CALL). */
		BPF_RAW_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect),
		/* The verifier wants a verdict in range at exit. */
		BPF_JMP_IMM(BPF_JLE, BPF_REG_0, XDP_REDIRECT, 1),
		BPF_MOV64_IMM(BPF_REG_0, XDP_ABORTED),
		BPF_EXIT_INSN(),
	};
	static const char license[] = "GPL";
	union bpf_attr attr = {};

	attr.prog_type = BPF_PROG_TYPE_XDP;
	if (redirect_ifindex > 0) {
		attr.insns = (u64)(unsigned long)redirect;
		attr.insn_cnt = ARRAY_SIZE(redirect);
	} else {
		attr.insns = (u64)(unsigned long)ret_action;
		attr.insn_cnt = ARRAY_SIZE(ret_action);
	}
	attr.license = (u64)(unsigned long)license;
	if (frags)
		attr.prog_flags = BPF_F_XDP_HAS_FRAGS;
	/* No verifier log: the kernel entry takes it as a user pointer. */
	return kern_sys_bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
}

/*
 * KUnit only: attaches the XDP program of file descriptor `fd` (or detaches with -1) to `dev`
 * in native mode, through the core's path of `ip link set dev DEV xdpdrv`. The extack message,
 * if any, is returned in `msg` (a static string).
 */
__rust_helper int rust_helper_xdp_testing_attach(struct net_device *dev, int fd, const char **msg)
{
	struct netlink_ext_ack extack = {};
	int err;

	rtnl_lock();
	err = dev_change_xdp_fd(dev, &extack, fd, -1, XDP_FLAGS_DRV_MODE);
	rtnl_unlock();
	*msg = extack._msg;
	return err;
}

/* KUnit only: the id of the XDP program attached to `dev` in native mode (0: none). */
__rust_helper u32 rust_helper_xdp_testing_prog_id(struct net_device *dev)
{
	u32 id;

	rtnl_lock();
	id = dev_xdp_prog_id(dev, XDP_MODE_DRV);
	rtnl_unlock();
	return id;
}

/* KUnit only: a new reference to the XDP program of file descriptor `fd`, or NULL. */
__rust_helper struct bpf_prog *rust_helper_xdp_testing_prog_get(int fd)
{
	struct bpf_prog *prog = bpf_prog_get_type_dev(fd, BPF_PROG_TYPE_XDP, false);

	return IS_ERR(prog) ? NULL : prog;
}

/* KUnit only: the references to `prog`. */
__rust_helper u64 rust_helper_xdp_testing_prog_refs(struct bpf_prog *prog)
{
	return atomic64_read(&prog->aux->refcnt);
}

__rust_helper int rust_helper_xdp_testing_close(int fd)
{
	return close_fd(fd);
}

#endif /* CONFIG_KUNIT && CONFIG_BPF_SYSCALL */

#endif /* CONFIG_NET */
