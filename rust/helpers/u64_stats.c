// SPDX-License-Identifier: GPL-2.0

#include <linux/u64_stats_sync.h>

__rust_helper void rust_helper_u64_stats_init(struct u64_stats_sync *syncp)
{
	u64_stats_init(syncp);
}

__rust_helper void rust_helper_u64_stats_update_begin(struct u64_stats_sync *syncp)
{
	u64_stats_update_begin(syncp);
}

__rust_helper void rust_helper_u64_stats_update_end(struct u64_stats_sync *syncp)
{
	u64_stats_update_end(syncp);
}

__rust_helper unsigned int rust_helper_u64_stats_fetch_begin(const struct u64_stats_sync *syncp)
{
	return u64_stats_fetch_begin(syncp);
}

__rust_helper bool rust_helper_u64_stats_fetch_retry(const struct u64_stats_sync *syncp,
						     unsigned int start)
{
	return u64_stats_fetch_retry(syncp, start);
}

__rust_helper u64 rust_helper_u64_stats_read(const u64_stats_t *p)
{
	return u64_stats_read(p);
}

__rust_helper void rust_helper_u64_stats_add(u64_stats_t *p, unsigned long val)
{
	u64_stats_add(p, val);
}

__rust_helper void rust_helper_u64_stats_set(u64_stats_t *p, u64 val)
{
	u64_stats_set(p, val);
}
