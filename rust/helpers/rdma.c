// SPDX-License-Identifier: GPL-2.0

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <rdma/ib_umem.h>
#include <rdma/ib_verbs.h>
#include <rdma/iter.h>
#include <rdma/uverbs_ioctl.h>
#include <rdma/uverbs_types.h>
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

#if IS_BUILTIN(CONFIG_INFINIBAND) && IS_ENABLED(CONFIG_INFINIBAND_USER_ACCESS) && \
	IS_BUILTIN(CONFIG_KUNIT)
/*
 * For kernel::rdma::testing, which creates QPs the way uverbs does: ib_create_qp_user() is the
 * core's entry for user QPs (exported for the uverbs module), declared in the core's private
 * header as bindings_helper.h takes drivers/base/base.h. No public interface creates a QP with
 * a udata: outside the core, only a uverbs file does (rdma::testing has none).
 */
#include "../../drivers/infiniband/core/core_priv.h"

__rust_helper struct ib_qp *
rust_helper_rdma_testing_create_qp_user(struct ib_device *dev, struct ib_pd *pd,
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

/*
 * The uverbs file state of test context `ctx` as ib_uverbs_open() and ib_uverbs_get_context()
 * set it up for the mmap entries (the umap lock and list, the context's mmap table); there is
 * no uverbs device behind it, so rdma_user_mmap_io() cannot be used with it. Freed with
 * rust_helper_rdma_testing_ufile_free().
 */
__rust_helper struct ib_uverbs_file *rust_helper_rdma_testing_ufile_alloc(struct ib_ucontext *ctx)
{
	struct ib_uverbs_file *ufile = kzalloc(sizeof(*ufile), GFP_KERNEL);

	if (!ufile)
		return NULL;
	kref_init(&ufile->ref);
	mutex_init(&ufile->umap_lock);
	INIT_LIST_HEAD(&ufile->umaps);
	ufile->ucontext = ctx;
	ctx->ufile = ufile;
	xa_init_flags(&ctx->mmap_xa, XA_FLAGS_ALLOC);
	return ufile;
}

/* Whether the mmap table of `ctx` is empty, as ufile_destroy_ucontext() expects it. */
__rust_helper bool rust_helper_rdma_testing_mmap_table_empty(struct ib_ucontext *ctx)
{
	return xa_empty(&ctx->mmap_xa);
}

__rust_helper void rust_helper_rdma_testing_ufile_free(struct ib_uverbs_file *ufile)
{
	mutex_destroy(&ufile->umap_lock);
	kfree(ufile);
}

static int rdma_testing_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct ib_ucontext *ctx = filp->private_data;

	if (!ctx->device->ops.mmap)
		return -EOPNOTSUPP;
	return ctx->device->ops.mmap(ctx, vma);
}

static const struct file_operations rdma_testing_fops = {
	.owner = THIS_MODULE,
	.mmap = rdma_testing_mmap,
};

/*
 * A file whose mmap() calls the device's mmap operation for test context `ctx`, as the uverbs
 * file's does (without its disassociation lock). Released with fput(); `ctx` must outlive the
 * mappings made through it.
 */
__rust_helper struct file *rust_helper_rdma_testing_file(struct ib_ucontext *ctx)
{
	return anon_inode_getfile("[rdma-testing]", &rdma_testing_fops, ctx, O_RDWR);
}

/* The page frame number of `page`. */
__rust_helper unsigned long rust_helper_rdma_testing_page_pfn(struct page *page)
{
	return page_to_pfn(page);
}
#endif
