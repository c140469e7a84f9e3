/* wsload.c - the WebSocket echo load generator of scripts/bench-ws, on
 * raw sockets and epoll (no library, so it measures servers, not a client
 * library).  Each connection sends one binary message (masked, as a
 * client must) and waits for its echo before sending the next, so the
 * round trips per second and the latency percentiles are the server's.
 * No extension is offered: nothing is compressed.
 *
 *   wsload [-h HOST] -p PORT [-P PATH] -c CONNS -s SIZE -d SECS [-w SECS]
 *       after a warm-up (-w, default 0.5 s), counts round trips for SECS
 *       seconds and prints one line:
 *       "rtps=N p50_us=N p99_us=N n=N"
 *   wsload [-h HOST] -p PORT [-P PATH] -c CONNS -s SIZE -n COUNT
 *       no warm-up: exactly COUNT round trips in all, then the same line
 *       (for profiling a server with a fixed amount of work).
 *   wsload [-h HOST] -p PORT [-P PATH] -i N
 *       opens N WebSockets (64 handshakes at a time) and leaves them idle,
 *       prints "open N", waits for a line on stdin, then checks that a new
 *       connection still echoes ("echo ok") and exits, closing them all.
 *
 * Exit 0, or 1 with a message on a refused connection, a handshake that
 * is not 101, or an echo that differs.  Built by scripts/bench-ws with
 * `cc -O2`; not part of the Makefile build.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INFLIGHT_HANDSHAKES 64
#define HEAD_MAX            2048

enum state { CONNECTING, HANDSHAKE, WRITING, READING, IDLE };

struct conn {
	int fd;
	enum state st;
	size_t off;             /* frame bytes written, or bytes read */
	char *buf;              /* the head, then the echo */
	uint64_t t0;
	uint32_t events;        /* what epoll watches */
};

static struct sockaddr_in addr;
static const char *host = "127.0.0.1", *path = "/echo";
static int port, ep;
static size_t size = 32;
static unsigned char *frame;    /* the masked message, shared */
static size_t frame_len;
static uint64_t *lat;           /* round trip times, ns */
static size_t nlat, lat_cap;
static bool measuring;
static uint64_t rounds;
static bool counting;           /* -n: a fixed number of round trips */
static uint64_t to_start;       /* those not started yet */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wsload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The message as a client frame: binary, FIN, masked with a fixed key
 * (the server unmasks whatever the key). */
static void
make_frame(void)
{
	static const unsigned char key[4] = { 0x5a, 0x13, 0xc7, 0x81 };
	size_t hl = 2, i;

	frame = malloc(size + 14);
	if (frame == NULL)
		die("out of memory");
	frame[0] = 0x82;
	if (size < 126) {
		frame[1] = (unsigned char)size;
	} else if (size <= 0xffff) {
		frame[1] = 126;
		frame[2] = (unsigned char)(size >> 8);
		frame[3] = (unsigned char)size;
		hl = 4;
	} else {
		frame[1] = 127;
		for (i = 0; i < 8; i++)
			frame[2 + i] = (unsigned char)((uint64_t)size >> (56 - 8 * i));
		hl = 10;
	}
	frame[1] |= 0x80;
	memcpy(frame + hl, key, 4);
	hl += 4;
	for (i = 0; i < size; i++)
		frame[hl + i] = (unsigned char)('a' + i % 26) ^ key[i & 3];
	frame_len = hl + size;
}

static void
watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(ep, op, c->fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	c->events = events;
}

/* Watch for events, without a syscall when that is already so: a round
 * trip then costs the generator a write and a read, as it costs the
 * server, and the generator stays out of the measurement. */
static void
want(struct conn *c, uint32_t events)
{
	if (c->events != events)
		watch(c, events, EPOLL_CTL_MOD);
}

static struct conn *
conn_open(void)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL || (c->buf = malloc(size + 14 > HEAD_MAX ? size + 14 :
	    HEAD_MAX)) == NULL)
		die("out of memory");
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 &&
	    errno != EINPROGRESS)
		die("connect: %s", strerror(errno));
	c->st = CONNECTING;
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
	return c;
}

static void
send_handshake(struct conn *c)
{
	char req[512];
	int n, err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0)
		die("connect %s:%d: %s", host, port, strerror(err));
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", path, host, port);
	if (write(c->fd, req, (size_t)n) != n)
		die("handshake write: %s", strerror(errno));
	c->st = HANDSHAKE;
	c->off = 0;
	watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

/* True once the whole head is in and says 101. */
static bool
read_handshake(struct conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->off, HEAD_MAX - 1 - c->off);

	if (n <= 0) {
		if (n == -1 && errno == EAGAIN)
			return false;
		die("handshake: connection closed");
	}
	c->off += (size_t)n;
	c->buf[c->off] = '\0';
	if (strstr(c->buf, "\r\n\r\n") == NULL)
		return false;
	if (strncmp(c->buf, "HTTP/1.1 101 ", 13) != 0)
		die("handshake refused: %.*s", (int)strcspn(c->buf, "\r"),
		    c->buf);
	c->st = IDLE;
	return true;
}

/* Write the rest of the frame; wait for EPOLLOUT only if the socket
 * takes no more. */
static void
write_frame(struct conn *c)
{
	ssize_t n;

	while (c->off < frame_len) {
		n = write(c->fd, frame + c->off, frame_len - c->off);
		if (n == -1) {
			if (errno == EAGAIN) {
				want(c, EPOLLOUT);
				return;
			}
			die("write: %s", strerror(errno));
		}
		c->off += (size_t)n;
	}
	c->st = READING;
	c->off = 0;
	want(c, EPOLLIN);
}

/* The next message, written at once (the socket has room). */
static void
start_echo(struct conn *c)
{
	if (counting) {
		if (to_start == 0) {
			c->st = IDLE;
			want(c, 0);
			return;
		}
		to_start--;
	}
	c->st = WRITING;
	c->off = 0;
	c->t0 = now_ns();
	write_frame(c);
}

/* The frame's whole length once its header is in, else 0. */
static size_t
frame_total(const unsigned char *p, size_t have)
{
	uint64_t len;
	size_t i;

	if (have < 2)
		return 0;
	len = p[1] & 0x7f;
	if (len == 126)
		return have < 4 ? 0 : 4 + ((size_t)p[2] << 8 | p[3]);
	if (len == 127) {
		if (have < 10)
			return 0;
		for (len = 0, i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		return 10 + (size_t)len;
	}
	return 2 + (size_t)len;
}

static void
record(uint64_t ns)
{
	rounds++;
	if (!measuring)
		return;
	if (nlat == lat_cap) {
		lat_cap = lat_cap == 0 ? 1 << 20 : lat_cap * 2;
		lat = realloc(lat, lat_cap * sizeof(*lat));
		if (lat == NULL)
			die("out of memory");
	}
	lat[nlat++] = ns;
}

/* True once the whole echo is in (checked). */
static bool
read_echo(struct conn *c)
{
	size_t total, cap = size + 14, hl;
	ssize_t n;

	n = read(c->fd, c->buf + c->off, cap - c->off);
	if (n <= 0) {
		if (n == -1 && errno == EAGAIN)
			return false;
		die("echo: connection closed");
	}
	c->off += (size_t)n;
	total = frame_total((unsigned char *)c->buf, c->off);
	if (total == 0 || c->off < total)
		return false;
	hl = total - size;
	if (total > cap || (c->buf[0] & 0x0f) != 2 || c->off != total ||
	    (hl != 2 && hl != 4 && hl != 10) ||
	    ((unsigned char)c->buf[hl] != 'a' ||
	    (unsigned char)c->buf[total - 1] != 'a' + (size - 1) % 26))
		die("echo differs (%zu bytes, opcode %d)", c->off,
		    c->buf[0] & 0x0f);
	record(now_ns() - c->t0);
	return true;
}

/* One pass of events; handshakes completed are counted in *opened. */
static void
pump(int timeout_ms, size_t *opened, bool echo)
{
	struct epoll_event evs[256];
	int n, i;

	n = epoll_wait(ep, evs, 256, timeout_ms);
	if (n == -1 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;

		if ((evs[i].events & (EPOLLERR | EPOLLHUP)) &&
		    c->st != CONNECTING)
			die("connection lost");
		switch (c->st) {
		case CONNECTING:
			send_handshake(c);
			break;
		case HANDSHAKE:
			if (read_handshake(c)) {
				(*opened)++;
				if (echo)
					start_echo(c);
				else
					watch(c, 0, EPOLL_CTL_MOD);
			}
			break;
		case WRITING:
			write_frame(c);
			break;
		case READING:
			if (read_echo(c) && echo)
				start_echo(c);
			break;
		case IDLE:
			break;
		}
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
run_echo(size_t conns, double secs, double warm, uint64_t count)
{
	size_t opened = 0, i;
	uint64_t start, end;

	if (count > 0) {
		counting = true;
		to_start = count;
		measuring = true;
	}
	for (i = 0; i < conns; i++)
		conn_open();
	while (opened < conns)
		pump(1000, &opened, true);
	start = now_ns() + (uint64_t)(count > 0 ? 0 : warm * 1e9);
	while (now_ns() < start)
		pump(10, &opened, true);
	measuring = true;
	end = start + (uint64_t)(secs * 1e9);
	while (count > 0 ? nlat < count : now_ns() < end)
		pump(1000, &opened, true);
	measuring = false;
	if (nlat == 0)
		die("no round trip in %.1f s", secs);
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("rtps=%.0f p50_us=%.0f p99_us=%.0f n=%zu\n",
	    (double)nlat / ((double)(now_ns() - start) / 1e9),
	    (double)lat[nlat / 2] / 1e3, (double)lat[nlat * 99 / 100] / 1e3,
	    nlat);
}

static void
run_idle(size_t n)
{
	size_t opened = 0, started = 0;
	struct conn *c;
	char line[64];

	while (opened < n) {
		while (started < n && started - opened < INFLIGHT_HANDSHAKES) {
			conn_open();
			started++;
		}
		pump(1000, &opened, false);
	}
	printf("open %zu\n", opened);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return;
	opened = 0;
	c = conn_open();
	while (opened < 1)
		pump(1000, &opened, false);
	start_echo(c);
	while (rounds == 0)
		pump(1000, &opened, false);
	printf("echo ok\n");
}

int
main(int argc, char **argv)
{
	size_t conns = 1, idle = 0;
	uint64_t count = 0;
	double secs = 5, warm = 0.5;
	struct rlimit rl;
	int ch;

	while ((ch = getopt(argc, argv, "c:d:h:i:n:p:P:s:w:")) != -1) {
		switch (ch) {
		case 'c': conns = strtoul(optarg, NULL, 10); break;
		case 'd': secs = strtod(optarg, NULL); break;
		case 'h': host = optarg; break;
		case 'i': idle = strtoul(optarg, NULL, 10); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'p': port = atoi(optarg); break;
		case 'P': path = optarg; break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'w': warm = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: wsload [-h host] -p port "
			    "[-P path] (-c conns -s size (-d secs | -n count) | "
			    "-i n)\n");
			return 2;
		}
	}
	if (port <= 0 || conns == 0 || size == 0)
		die("need -p PORT, and -c and -s above 0");
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		die("not an IPv4 address: %s", host);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	make_frame();
	if (idle > 0)
		run_idle(idle);
	else
		run_echo(conns, secs, warm, count);
	return 0;
}
