// SPDX-License-Identifier: GPL-2.0

#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>

#ifdef CONFIG_NET

__rust_helper bool rust_helper_netif_device_present(const struct net_device *dev)
{
	return netif_device_present(dev);
}

__rust_helper void *rust_helper_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

__rust_helper void rust_helper_netdev_lock(struct net_device *dev)
{
	netdev_lock(dev);
}

__rust_helper void rust_helper_netdev_unlock(struct net_device *dev)
{
	netdev_unlock(dev);
}

__rust_helper bool rust_helper_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

__rust_helper bool rust_helper_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

__rust_helper bool rust_helper_netif_is_rxfh_configured(const struct net_device *dev)
{
	return netif_is_rxfh_configured(dev);
}

__rust_helper void rust_helper_eth_hw_addr_set(struct net_device *dev,
					       const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

__rust_helper struct netdev_queue *
rust_helper_netdev_get_tx_queue(const struct net_device *dev,
				unsigned int index)
{
	return netdev_get_tx_queue(dev, index);
}

__rust_helper void rust_helper_netif_tx_stop_queue(struct netdev_queue *dev_queue)
{
	netif_tx_stop_queue(dev_queue);
}

__rust_helper void rust_helper_netif_tx_start_queue(struct netdev_queue *dev_queue)
{
	netif_tx_start_queue(dev_queue);
}

__rust_helper bool
rust_helper_netif_tx_queue_stopped(const struct netdev_queue *dev_queue)
{
	return netif_tx_queue_stopped(dev_queue);
}

__rust_helper bool rust_helper_netif_xmit_stopped(const struct netdev_queue *dev_queue)
{
	return netif_xmit_stopped(dev_queue);
}

__rust_helper void rust_helper_netif_tx_start_all_queues(struct net_device *dev)
{
	netif_tx_start_all_queues(dev);
}

__rust_helper void rust_helper_netif_tx_wake_all_queues(struct net_device *dev)
{
	netif_tx_wake_all_queues(dev);
}

__rust_helper void rust_helper_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

__rust_helper void rust_helper_netdev_tx_sent_queue(struct netdev_queue *dev_queue,
						    unsigned int bytes)
{
	netdev_tx_sent_queue(dev_queue, bytes);
}

__rust_helper void
rust_helper_netdev_tx_completed_queue(struct netdev_queue *dev_queue,
				      unsigned int pkts, unsigned int bytes)
{
	netdev_tx_completed_queue(dev_queue, pkts, bytes);
}

__rust_helper bool rust_helper___netdev_tx_sent_queue(struct netdev_queue *dev_queue,
						      unsigned int bytes, bool xmit_more)
{
	return __netdev_tx_sent_queue(dev_queue, bytes, xmit_more);
}

__rust_helper bool rust_helper_netdev_xmit_more(void)
{
#ifndef CONFIG_PREEMPT_RT
	/* The preemption-safe read: meaningful in ndo_start_xmit, harmless elsewhere. */
	return this_cpu_read(softnet_data.xmit.more);
#else
	return netdev_xmit_more();
#endif
}

__rust_helper void rust_helper_netdev_tx_reset_queue(struct netdev_queue *q)
{
	netdev_tx_reset_queue(q);
}

/* Milliseconds since a transmission last started on @q (its trans_start). */
__rust_helper unsigned int
rust_helper_netdev_queue_trans_age_ms(const struct netdev_queue *q)
{
	return jiffies_to_msecs(jiffies - READ_ONCE(q->trans_start));
}

/* The transmit watchdog timeout of @dev in milliseconds. */
__rust_helper unsigned int
rust_helper_netdev_watchdog_timeo_ms(const struct net_device *dev)
{
	return jiffies_to_msecs(max(READ_ONCE(dev->watchdog_timeo), 0));
}

/*
 * Applies a pending carrier change of @dev to its operational state: linkwatch_sync_dev(),
 * which is not exported, for the generic code that drivers instantiate. Needs the rtnl lock.
 */
__rust_helper void rust_helper_netdev_linkwatch_sync(struct net_device *dev)
{
	linkwatch_sync_dev(dev);
}

/* The transmit timeouts the watchdog counted on @q (sysfs tx_timeout). */
__rust_helper u64 rust_helper_netdev_queue_trans_timeouts(const struct netdev_queue *q)
{
	return atomic_long_read(&q->trans_timeout);
}

__rust_helper int rust_helper_dev_queue_xmit(struct sk_buff *skb)
{
	return dev_queue_xmit(skb);
}

__rust_helper void
rust_helper_netif_napi_add_weight(struct net_device *dev,
				  struct napi_struct *napi,
				  int (*poll)(struct napi_struct *, int),
				  int weight)
{
	netif_napi_add_weight(dev, napi, poll, weight);
}

__rust_helper void rust_helper_netif_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

__rust_helper void
rust_helper_netif_napi_add_config(struct net_device *dev,
				  struct napi_struct *napi,
				  int (*poll)(struct napi_struct *, int),
				  int index)
{
	netif_napi_add_config(dev, napi, poll, index);
}

__rust_helper void rust_helper_netif_napi_set_irq(struct napi_struct *napi,
						  int irq)
{
	netif_napi_set_irq(napi, irq);
}

__rust_helper bool rust_helper_napi_schedule(struct napi_struct *n)
{
	return napi_schedule(n);
}

__rust_helper bool rust_helper_napi_is_scheduled(struct napi_struct *n)
{
	return napi_is_scheduled(n);
}

__rust_helper gro_result_t rust_helper_napi_gro_receive(struct napi_struct *napi,
							struct sk_buff *skb)
{
	return napi_gro_receive(napi, skb);
}

__rust_helper struct sk_buff *rust_helper_alloc_skb(unsigned int size,
						    gfp_t priority)
{
	return alloc_skb(size, priority);
}

__rust_helper struct sk_buff *rust_helper_netdev_alloc_skb(struct net_device *dev,
							   unsigned int length)
{
	return netdev_alloc_skb(dev, length);
}

__rust_helper void rust_helper_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

__rust_helper void rust_helper_dev_consume_skb_any(struct sk_buff *skb)
{
	dev_consume_skb_any(skb);
}

__rust_helper struct skb_shared_info *rust_helper_skb_shinfo(const struct sk_buff *skb)
{
	return skb_shinfo(skb);
}

__rust_helper int rust_helper_skb_cloned(const struct sk_buff *skb)
{
	return skb_cloned(skb);
}

__rust_helper unsigned int rust_helper_skb_headlen(const struct sk_buff *skb)
{
	return skb_headlen(skb);
}

__rust_helper unsigned int rust_helper_skb_headroom(const struct sk_buff *skb)
{
	return skb_headroom(skb);
}

__rust_helper int rust_helper_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

__rust_helper void rust_helper_skb_reserve(struct sk_buff *skb, int len)
{
	skb_reserve(skb, len);
}

__rust_helper int rust_helper_skb_linearize(struct sk_buff *skb)
{
	return skb_linearize(skb);
}

__rust_helper int rust_helper_skb_checksum_start_offset(const struct sk_buff *skb)
{
	return skb_checksum_start_offset(skb);
}

__rust_helper int rust_helper_skb_transport_offset(const struct sk_buff *skb)
{
	return skb_transport_offset(skb);
}

__rust_helper int rust_helper_skb_network_offset(const struct sk_buff *skb)
{
	return skb_network_offset(skb);
}

__rust_helper void rust_helper_skb_set_transport_header(struct sk_buff *skb,
							const int offset)
{
	skb_set_transport_header(skb, offset);
}

__rust_helper void rust_helper_skb_set_network_header(struct sk_buff *skb,
						      const int offset)
{
	skb_set_network_header(skb, offset);
}

__rust_helper int rust_helper_skb_tcp_all_headers(const struct sk_buff *skb)
{
	return skb_tcp_all_headers(skb);
}

__rust_helper bool rust_helper_skb_is_gso(const struct sk_buff *skb)
{
	return skb_is_gso(skb);
}

__rust_helper void rust_helper_skb_set_hash(struct sk_buff *skb, __u32 hash,
					    enum pkt_hash_types type)
{
	skb_set_hash(skb, hash, type);
}

__rust_helper __u32 rust_helper_skb_get_hash_raw(const struct sk_buff *skb)
{
	return skb_get_hash_raw(skb);
}

__rust_helper u16 rust_helper_skb_get_queue_mapping(const struct sk_buff *skb)
{
	return skb_get_queue_mapping(skb);
}

__rust_helper void rust_helper_skb_set_queue_mapping(struct sk_buff *skb,
						     u16 queue_mapping)
{
	skb_set_queue_mapping(skb, queue_mapping);
}

__rust_helper void rust_helper_skb_record_rx_queue(struct sk_buff *skb,
						   u16 rx_queue)
{
	skb_record_rx_queue(skb, rx_queue);
}

__rust_helper bool rust_helper_skb_vlan_tag_present(const struct sk_buff *skb)
{
	return skb_vlan_tag_present(skb);
}

__rust_helper u16 rust_helper_skb_vlan_tag_get(const struct sk_buff *skb)
{
	return skb_vlan_tag_get(skb);
}

__rust_helper void rust_helper___vlan_hwaccel_put_tag(struct sk_buff *skb,
						      __be16 vlan_proto,
						      u16 vlan_tci)
{
	__vlan_hwaccel_put_tag(skb, vlan_proto, vlan_tci);
}

__rust_helper u8 rust_helper_skb_ip_summed(const struct sk_buff *skb)
{
	return skb->ip_summed;
}

__rust_helper void rust_helper_skb_set_ip_summed(struct sk_buff *skb, u8 ip_summed)
{
	skb->ip_summed = ip_summed;
}

__rust_helper u16 rust_helper_skb_csum_offset(const struct sk_buff *skb)
{
	return skb->csum_offset;
}

__rust_helper struct page *rust_helper_skb_frag_page(const skb_frag_t *frag)
{
	return skb_frag_page(frag);
}

__rust_helper unsigned int rust_helper_skb_frag_size(const skb_frag_t *frag)
{
	return skb_frag_size(frag);
}

__rust_helper unsigned int rust_helper_skb_frag_off(const skb_frag_t *frag)
{
	return skb_frag_off(frag);
}

__rust_helper void *rust_helper_page_address(const struct page *page)
{
	return page_address(page);
}

__rust_helper void rust_helper_get_page(struct page *page)
{
	get_page(page);
}

__rust_helper void rust_helper_put_page(struct page *page)
{
	put_page(page);
}

__rust_helper int rust_helper_page_ref_count(const struct page *page)
{
	return page_ref_count(page);
}

__rust_helper void rust_helper_skb_add_rx_frag(struct sk_buff *skb, int i,
					       struct page *page, int off,
					       int size, unsigned int truesize)
{
	skb_add_rx_frag(skb, i, page, off, size, truesize);
}

/* Fields in anonymous unions and bitfields, which bindgen makes awkward to reach. */

__rust_helper __be16 rust_helper_skb_get_protocol(const struct sk_buff *skb)
{
	return skb->protocol;
}

__rust_helper void rust_helper_skb_set_protocol(struct sk_buff *skb, __be16 protocol)
{
	skb->protocol = protocol;
}

__rust_helper void rust_helper_skb_set_dev(struct sk_buff *skb, struct net_device *dev)
{
	skb->dev = dev;
}

__rust_helper u8 rust_helper_skb_get_pkt_type(const struct sk_buff *skb)
{
	return skb->pkt_type;
}

__rust_helper u16 rust_helper_skb_csum_start(const struct sk_buff *skb)
{
	return skb->csum_start;
}

#endif /* CONFIG_NET */
