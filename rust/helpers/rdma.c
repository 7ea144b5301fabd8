// SPDX-License-Identifier: GPL-2.0

#include <rdma/ib_umem.h>
#include <rdma/ib_verbs.h>
#include <rdma/iter.h>
#include <rdma/uverbs_ioctl.h>
#include <linux/netdevice.h>

/* As kernel::rdma: the kernel crate is built in, so the RDMA core must be too. */
#if IS_BUILTIN(CONFIG_INFINIBAND) && IS_ENABLED(CONFIG_INFINIBAND_USER_ACCESS)

/*
 * The user context of the uverbs call that `udata` belongs to, or NULL for a kernel call
 * (`udata == NULL`) or before the context exists (alloc_ucontext).
 */
__rust_helper struct ib_ucontext *rust_helper_rdma_udata_to_ucontext(struct ib_udata *udata)
{
	return udata ? rdma_udata_to_uverbs_attr_bundle(udata)->context : NULL;
}

/* The driver udata of a uverbs attribute bundle, or NULL for a kernel call. */
__rust_helper struct ib_udata *rust_helper_rdma_attrs_to_udata(struct uverbs_attr_bundle *attrs)
{
	return attrs ? &attrs->driver_udata : NULL;
}

__rust_helper u64 rust_helper_rdma_user_mmap_get_offset(const struct rdma_user_mmap_entry *entry)
{
	return rdma_user_mmap_get_offset(entry);
}

__rust_helper pgprot_t rust_helper_rdma_pgprot_writecombine(pgprot_t prot)
{
	return pgprot_writecombine(prot);
}

__rust_helper pgprot_t rust_helper_rdma_pgprot_noncached(pgprot_t prot)
{
	return pgprot_noncached(prot);
}

__rust_helper struct ib_umem *rust_helper_ib_umem_get_va(struct ib_device *device,
							 unsigned long addr, size_t size,
							 int access)
{
	return ib_umem_get_va(device, addr, size, access);
}

__rust_helper size_t rust_helper_ib_umem_num_dma_blocks(struct ib_umem *umem, unsigned long pgsz)
{
	return ib_umem_num_dma_blocks(umem, pgsz);
}

__rust_helper void rust_helper___rdma_umem_block_iter_start(struct ib_block_iter *biter,
							   struct ib_umem *umem,
							   unsigned long pgsz)
{
	__rdma_umem_block_iter_start(biter, umem, pgsz);
}

__rust_helper bool rust_helper___rdma_umem_block_iter_next(struct ib_block_iter *biter)
{
	return __rdma_umem_block_iter_next(biter);
}

__rust_helper dma_addr_t rust_helper_rdma_block_iter_dma_address(struct ib_block_iter *biter)
{
	return rdma_block_iter_dma_address(biter);
}

/* The interface index of the net device attached to `port`, 0 if there is none. */
__rust_helper int rust_helper_rdma_port_netdev_ifindex(struct ib_device *ibdev, u32 port)
{
	struct net_device *ndev = ib_device_get_netdev(ibdev, port);
	int ifindex;

	if (!ndev)
		return 0;
	ifindex = ndev->ifindex;
	dev_put(ndev);
	return ifindex;
}

#endif

#if IS_BUILTIN(CONFIG_INFINIBAND) && IS_ENABLED(CONFIG_INFINIBAND_USER_ACCESS) && IS_BUILTIN(CONFIG_KUNIT)
/*
 * For kernel::rdma::testing, which creates QPs the way uverbs does: the core's entry point for
 * user QPs is declared in drivers/infiniband/core/core_priv.h, out of reach of bindgen.
 */
struct ib_qp *ib_create_qp_user(struct ib_device *dev, struct ib_pd *pd,
				struct ib_qp_init_attr *attr,
				struct uverbs_attr_bundle *uattrs,
				struct ib_uqp_object *uobj, const char *caller);

__rust_helper struct ib_qp *rust_helper_rdma_testing_create_qp_user(struct ib_device *dev,
								   struct ib_pd *pd,
								   struct ib_qp_init_attr *attr,
								   struct uverbs_attr_bundle *uattrs)
{
	return ib_create_qp_user(dev, pd, attr, uattrs, NULL, NULL);
}

/* A zeroed uverbs attribute bundle of user context `ctx`, freed with kfree(). */
__rust_helper struct uverbs_attr_bundle *
rust_helper_rdma_testing_bundle_alloc(struct ib_ucontext *ctx)
{
	struct uverbs_attr_bundle *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (b)
		b->context = ctx;
	return b;
}
#endif
