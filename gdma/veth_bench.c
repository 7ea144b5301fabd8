// SPDX-License-Identifier: GPL-2.0-only
/*
 * mana-rs: a veth pair measured in the same boot as mana_eth, for its KUnit benchmark
 * (mana_eth/tests_bench.rs through mana_gdma::bench). Test kernels only: KUnit and veth built in.
 */

#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>

#if IS_BUILTIN(CONFIG_KUNIT) && IS_BUILTIN(CONFIG_VETH)
#include <linux/delay.h>
#include <linux/ip.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h>
#include <linux/veth.h>
#include <net/net_namespace.h>

/* Sends one rtnetlink request from a kernel socket and returns the errno of its ack. */
static int veth_bench_rtnl_request(void *msg, int len)
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

static char *veth_bench_put_attr(char *p, u16 type, const void *data, int len)
{
	struct rtattr *a = (struct rtattr *)p;

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	return p + RTA_ALIGN(a->rta_len);
}

struct veth_bench_rtnl_msg {
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
int mana_gdma_veth_bench(u32 packets, u32 frame_len, u64 *ns, u64 *received);

int mana_gdma_veth_bench(u32 packets, u32 frame_len, u64 *ns, u64 *received)
{
	static const char n0[] = "mrsvb0", n1[] = "mrsvb1";
	struct veth_bench_rtnl_msg req = {};
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
	p = veth_bench_put_attr(p, IFLA_IFNAME, n0, sizeof(n0));
	linkinfo = p;
	p = veth_bench_put_attr(p, IFLA_LINKINFO, NULL, 0);
	p = veth_bench_put_attr(p, IFLA_INFO_KIND, "veth", 5);
	data = p;
	p = veth_bench_put_attr(p, IFLA_INFO_DATA, NULL, 0);
	peer = p;
	p = veth_bench_put_attr(p, VETH_INFO_PEER, NULL, 0);
	memcpy(p, &peer_hdr, sizeof(peer_hdr));
	p += NLMSG_ALIGN(sizeof(peer_hdr));
	p = veth_bench_put_attr(p, IFLA_IFNAME, n1, sizeof(n1));
	((struct rtattr *)peer)->rta_len = p - peer;
	((struct rtattr *)data)->rta_len = p - data;
	((struct rtattr *)linkinfo)->rta_len = p - linkinfo;
	req.h.nlmsg_len = p - (char *)&req;
	err = veth_bench_rtnl_request(&req, req.h.nlmsg_len);
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
				pr_info("mana_gdma veth bench: stalled after %llu sent, %llu received\n",
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
		veth_bench_rtnl_request(&req, req.h.nlmsg_len);
	}
	return err;
}
#endif
