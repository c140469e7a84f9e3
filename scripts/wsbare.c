/* wsbare.c - the ceiling for scripts/bench-ws: the least a single-threaded
 * libevent WebSocket echo server can do, for benchmarking only.  Plain
 * events and read/write on the sockets (no bufferevent, no evbuffer); the
 * HTTP upgrade (Sec-WebSocket-Accept from OpenSSL's SHA-1 and base64),
 * client frames unmasked and echoed unmasked.  Nothing else: no UTF-8
 * check, no compression, no close handshake (a close frame, a control
 * frame or a bad header ends the connection), no back-pressure beyond
 * buffering what the socket refuses.  Not a server to use.
 *
 *   wsbare [-p PORT]
 *       listens on 127.0.0.1 (port 0: any) and prints the port alone on
 *       a stderr line; runs until killed.
 *
 * Built by scripts/bench-ws with `cc -O2 ... -levent -lcrypto`; not part
 * of the Makefile build.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define HEAD_MAX 4096

struct conn {
	int fd;
	struct event *rev, *wev;
	bool open;                      /* handshake done */
	unsigned char *in, *out;
	size_t ilen, icap, olen, ocap;
};

static struct event_base *base;

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void *
grow(void *p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return p;
	while (*cap < need)
		*cap = *cap == 0 ? 4096 : *cap * 2;
	p = realloc(p, *cap);
	if (p == NULL)
		die("realloc");
	return p;
}

static void
conn_free(struct conn *c)
{
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Queue bytes; written at the end of the read turn. */
static void
out_add(struct conn *c, const void *data, size_t len)
{
	c->out = grow(c->out, &c->ocap, c->olen + len);
	memcpy(c->out + c->olen, data, len);
	c->olen += len;
}

/* Write what is queued; false if the connection failed. */
static bool
flush_out(struct conn *c)
{
	ssize_t n;

	while (c->olen > 0) {
		n = send(c->fd, c->out, c->olen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN) {
				event_add(c->wev, NULL);
				return true;
			}
			return false;
		}
		memmove(c->out, c->out + n, c->olen - (size_t)n);
		c->olen -= (size_t)n;
	}
	event_del(c->wev);
	return true;
}

/* The upgrade: 1 done, 0 need more, -1 bad. */
static int
handshake(struct conn *c)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char sha[SHA_DIGEST_LENGTH];
	char *end, *k, *e, acc[32], resp[256], key[128];
	size_t hl, kl;
	int n;

	c->in[c->ilen] = '\0';
	end = strstr((char *)c->in, "\r\n\r\n");
	if (end == NULL)
		return c->ilen >= HEAD_MAX - 1 ? -1 : 0;
	hl = (size_t)(end + 4 - (char *)c->in);
	k = strcasestr((char *)c->in, "\r\nSec-WebSocket-Key:");
	if (k == NULL || k > end)
		return -1;
	k += 20;
	while (*k == ' ')
		k++;
	e = strstr(k, "\r\n");
	kl = (size_t)(e - k);
	if (kl + sizeof(guid) > sizeof(key))
		return -1;
	memcpy(key, k, kl);
	memcpy(key + kl, guid, sizeof(guid) - 1);
	SHA1((unsigned char *)key, kl + sizeof(guid) - 1, sha);
	EVP_EncodeBlock((unsigned char *)acc, sha, sizeof(sha));
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	out_add(c, resp, (size_t)n);
	memmove(c->in, c->in + hl, c->ilen - hl);
	c->ilen -= hl;
	c->open = true;
	return 1;
}

/* Echo every whole frame in the input; false to drop the connection. */
static bool
frames(struct conn *c)
{
	size_t off = 0;

	while (c->ilen - off >= 2) {
		unsigned char *p = c->in + off, *key, hdr[10];
		size_t avail = c->ilen - off, hl = 2, i, len;
		uint32_t k32;

		if ((p[0] & 0x0f) >= 8 || !(p[1] & 0x80))
			return false;
		len = p[1] & 0x7f;
		if (len == 126) {
			if (avail < 4)
				break;
			len = (size_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			for (len = 0, i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			hl = 10;
		}
		if (avail < hl + 4 + len)
			break;
		key = p + hl;
		memcpy(&k32, key, 4);
		/* The answer's header: the same, without the mask bit. */
		memcpy(hdr, p, hl);
		hdr[1] &= 0x7f;
		out_add(c, hdr, hl);
		c->out = grow(c->out, &c->ocap, c->olen + len);
		{
			unsigned char *src = key + 4, *dst = c->out + c->olen;
			uint64_t k64 = (uint64_t)k32 << 32 | k32, w, v[4];

			/* 32 bytes a step (vector instructions), as whirl. */
			for (i = 0; i + 32 <= len; i += 32) {
				memcpy(v, src + i, 32);
				v[0] ^= k64;
				v[1] ^= k64;
				v[2] ^= k64;
				v[3] ^= k64;
				memcpy(dst + i, v, 32);
			}
			for (; i + 8 <= len; i += 8) {
				memcpy(&w, src + i, 8);
				w ^= k64;
				memcpy(dst + i, &w, 8);
			}
			for (; i < len; i++)
				dst[i] = src[i] ^ key[i & 3];
		}
		c->olen += len;
		off += hl + 4 + len;
	}
	memmove(c->in, c->in + off, c->ilen - off);
	c->ilen -= off;
	return true;
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (!flush_out(c))
		conn_free(c);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)what;
	c->in = grow(c->in, &c->icap, c->ilen + 65536 + 1);
	n = read(fd, c->in + c->ilen, c->icap - c->ilen - 1);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		conn_free(c);
		return;
	}
	c->ilen += (size_t)n;
	if (!c->open) {
		int r = handshake(c);

		if (r < 0) {
			conn_free(c);
			return;
		}
		if (r == 0)
			return;
	}
	if (!frames(c) || !flush_out(c))
		conn_free(c);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct conn *c;
	int fd, one = 1;

	(void)what;
	(void)arg;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			die("calloc");
		c->fd = fd;
		c->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
		c->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write,
		    c);
		event_add(c->rev, NULL);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int lfd, one = 1, ch, port = 0;

	while ((ch = getopt(argc, argv, "p:")) != -1) {
		if (ch != 'p') {
			fprintf(stderr, "usage: wsbare [-p port]\n");
			return 2;
		}
		port = atoi(optarg);
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 1024) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		die("listen");
	base = event_base_new();
	event_add(event_new(base, lfd, EV_READ | EV_PERSIST, on_accept, NULL),
	    NULL);
	fprintf(stderr, "%d\n", ntohs(a.sin_port));
	event_base_dispatch(base);
	return 0;
}
