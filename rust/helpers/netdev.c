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
rust_helper_mana_rs_txq_trans_age_ms(const struct netdev_queue *q)
{
	return jiffies_to_msecs(jiffies - READ_ONCE(q->trans_start));
}

/* The transmit watchdog timeout of @dev in milliseconds. */
__rust_helper unsigned int
rust_helper_mana_rs_watchdog_timeout_ms(const struct net_device *dev)
{
	return jiffies_to_msecs(max(READ_ONCE(dev->watchdog_timeo), 0));
}

/*
 * Applies a pending carrier change of @dev to its operational state
 * (linkwatch_sync_dev() is not exported to modules). Needs the rtnl lock.
 */
__rust_helper void rust_helper_mana_rs_linkwatch_sync_dev(struct net_device *dev)
{
	linkwatch_sync_dev(dev);
}

/* The transmit timeouts the watchdog counted on @q (sysfs tx_timeout). */
__rust_helper u64 rust_helper_mana_rs_txq_timeouts(const struct netdev_queue *q)
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

#if IS_ENABLED(CONFIG_KUNIT) && IS_ENABLED(CONFIG_VETH)
#include <linux/delay.h>
#include <linux/ip.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h>
#include <linux/veth.h>
#include <net/net_namespace.h>

/* Sends one rtnetlink request from a kernel socket and returns the errno of its ack. */
static int mana_rs_rtnl_request(void *msg, int len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa) };
	struct kvec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr rh = {};
	struct socket *sock;
	char ack[512];
	struct kvec riov = { .iov_base = ack, .iov_len = sizeof(ack) };
	int err;

	err = sock_create_kern(&init_net, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, &sock);
	if (err)
		return err;
	err = kernel_sendmsg(sock, &mh, &iov, 1, len);
	if (err >= 0) {
		err = kernel_recvmsg(sock, &rh, &riov, 1, sizeof(ack), 0);
		if (err >= (int)(NLMSG_HDRLEN + sizeof(struct nlmsgerr))) {
			struct nlmsghdr *h = (struct nlmsghdr *)ack;

			err = h->nlmsg_type == NLMSG_ERROR ?
				((struct nlmsgerr *)NLMSG_DATA(h))->error : -EIO;
		} else if (err >= 0) {
			err = -EIO;
		}
	}
	sock_release(sock);
	return err;
}

static char *mana_rs_put_attr(char *p, u16 type, const void *data, int len)
{
	struct rtattr *a = (struct rtattr *)p;

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	return p + RTA_ALIGN(a->rta_len);
}

struct mana_rs_rtnl_msg {
	struct nlmsghdr h;
	struct ifinfomsg i;
	char attrs[256];
};

/*
 * KUnit benchmark support: creates a veth pair "mrsvb0"/"mrsvb1", brings it up, sends
 * `packets` IPv4/UDP frames of `frame_len` bytes on mrsvb0 with dev_queue_xmit() (at most 256
 * not yet received), waits for mrsvb1 to receive them, deletes the pair, and reports the time
 * and the packets mrsvb1 received.
 */
__rust_helper int rust_helper_mana_rs_veth_bench(u32 packets, u32 frame_len, u64 *ns,
						 u64 *received)
{
	static const char n0[] = "mrsvb0", n1[] = "mrsvb1";
	struct mana_rs_rtnl_msg req = {};
	struct ifinfomsg peer_hdr = {};
	struct rtnl_link_stats64 s0, s;
	struct net_device *a, *b;
	char *p = req.attrs, *linkinfo, *data, *peer;
	u64 start, sent;
	int err, ifindex, waited;

	if (frame_len < 14 + 20 + 8 || frame_len > 1514)
		return -EINVAL;
	req.h.nlmsg_type = RTM_NEWLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.i.ifi_family = AF_UNSPEC;
	p = mana_rs_put_attr(p, IFLA_IFNAME, n0, sizeof(n0));
	linkinfo = p;
	p = mana_rs_put_attr(p, IFLA_LINKINFO, NULL, 0);
	p = mana_rs_put_attr(p, IFLA_INFO_KIND, "veth", 5);
	data = p;
	p = mana_rs_put_attr(p, IFLA_INFO_DATA, NULL, 0);
	peer = p;
	p = mana_rs_put_attr(p, VETH_INFO_PEER, NULL, 0);
	memcpy(p, &peer_hdr, sizeof(peer_hdr));
	p += NLMSG_ALIGN(sizeof(peer_hdr));
	p = mana_rs_put_attr(p, IFLA_IFNAME, n1, sizeof(n1));
	((struct rtattr *)peer)->rta_len = p - peer;
	((struct rtattr *)data)->rta_len = p - data;
	((struct rtattr *)linkinfo)->rta_len = p - linkinfo;
	req.h.nlmsg_len = p - (char *)&req;
	err = mana_rs_rtnl_request(&req, req.h.nlmsg_len);
	if (err)
		return err;

	a = dev_get_by_name(&init_net, n0);
	b = dev_get_by_name(&init_net, n1);
	err = a && b ? 0 : -ENODEV;
	if (!err) {
		rtnl_lock();
		err = dev_change_flags(a, a->flags | IFF_UP, NULL);
		if (!err)
			err = dev_change_flags(b, b->flags | IFF_UP, NULL);
		rtnl_unlock();
	}
	if (!err) {
		dev_get_stats(b, &s0);
		start = ktime_get_ns();
		for (sent = 0; sent < packets && !err; sent++) {
			struct sk_buff *skb;
			struct iphdr *ip;
			struct udphdr *udp;
			u8 *f;

			for (waited = 0; waited < 20000; waited++) {
				dev_get_stats(b, &s);
				/* The peer's own IPv6 packets count too: may exceed `sent`. */
				if (sent < s.rx_packets - s0.rx_packets + 256)
					break;
				usleep_range(50, 60);
			}
			if (waited == 20000) {
				pr_info("mana_rs veth bench: stalled after %llu sent, %llu received\n",
					sent, s.rx_packets - s0.rx_packets);
				err = -ETIMEDOUT;
				break;
			}
			skb = alloc_skb(frame_len + NET_IP_ALIGN, GFP_KERNEL);
			if (!skb) {
				err = -ENOMEM;
				break;
			}
			skb_reserve(skb, NET_IP_ALIGN);
			f = skb_put_zero(skb, frame_len);
			memcpy(f, b->dev_addr, ETH_ALEN);
			memcpy(f + ETH_ALEN, a->dev_addr, ETH_ALEN);
			*(__be16 *)(f + 12) = htons(ETH_P_IP);
			ip = (struct iphdr *)(f + 14);
			ip->version = 4;
			ip->ihl = 5;
			ip->tot_len = htons(frame_len - 14);
			ip->ttl = 64;
			ip->protocol = IPPROTO_UDP;
			ip->saddr = htonl(0x0a000001);
			ip->daddr = htonl(0x0a000002);
			ip->check = ip_fast_csum((u8 *)ip, ip->ihl);
			udp = (struct udphdr *)(f + 34);
			udp->source = htons(1000 + sent % 512);
			udp->dest = htons(9);
			udp->len = htons(frame_len - 34);
			skb->protocol = htons(ETH_P_IP);
			skb->dev = a;
			skb_reset_mac_header(skb);
			skb_set_network_header(skb, 14);
			skb_set_transport_header(skb, 34);
			dev_queue_xmit(skb);
		}
		/* Until all arrived, or nothing more arrives for 20 ms; timed to the last arrival. */
		*ns = ktime_get_ns() - start;
		dev_get_stats(b, &s);
		*received = s.rx_packets - s0.rx_packets;
		for (waited = 0; waited < 20 && *received < packets; waited++) {
			usleep_range(1000, 1100);
			dev_get_stats(b, &s);
			if (s.rx_packets - s0.rx_packets != *received) {
				*received = s.rx_packets - s0.rx_packets;
				*ns = ktime_get_ns() - start;
				waited = 0;
			}
		}
	}
	ifindex = a ? a->ifindex : 0;
	dev_put(a);
	dev_put(b);
	if (ifindex) {
		memset(&req, 0, sizeof(req));
		req.h.nlmsg_type = RTM_DELLINK;
		req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
		req.i.ifi_family = AF_UNSPEC;
		req.i.ifi_index = ifindex;
		mana_rs_rtnl_request(&req, req.h.nlmsg_len);
	}
	return err;
}
#endif
