/* whirl-socket - the classic socket(1), option for option, on the whirl
 * loop.
 *
 * The behaviour is that of socket 1.1 as Debian shipped it (1.1-10; see
 * man/whirl-socket.1 and shared/research/socket.md): a client or a server
 * that copies between one TCP or unix-domain connection and either its own
 * stdin/stdout or a `/bin/sh -c` program.  Each copying direction is one
 * whirl_relay; -r and -w leave one out, -c filters both.  A process holds
 * at most one connection at a time (-f forks a process per connection), so
 * the connection is a single static `conn`.
 *
 * Messages and exit statuses are the original's, a contract for scripts:
 * 15 usage, 5 unknown service, 13 unknown host, the errno of a failed
 * connect, 256 minus a signal's number.  --tls adds 71 (EPROTO) for a
 * connection that TLS refused, in the same errno spirit.
 *
 * With --tls the handshake runs on the connected or accepted stream first;
 * only when it is done does the connection begin (the program of -p, the
 * relays), so a refused peer never starts a program.
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "whirl.h"

#define EXIT_USAGE	15
#define EXIT_SERVICE	5
#define EXIT_HOST	13
#define EXIT_TLS	EPROTO		/* 71 */

#define BACKLOG		WHIRL_BACKLOG
#define HTTP_HEAD_MAX	8192		/* request head, --http */
#define DRAIN_MAX	(256 * 1024)	/* bytes we swallow before closing */
#define DRAIN_MS	1000		/* ... and how long we wait for them */
#define KEEPALIVE_MS	3600000		/* a tick that only keeps the loop up */

static const char http_ok[] = "HTTP/1.0 200 OK\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Connection: close\r\n\r\n";
static const char http_too_long[] = "HTTP/1.0 431 Request Header Fields "
    "Too Large\r\nConnection: close\r\n\r\n";

struct opts {
	bool background;	/* -b: detach (server) */
	bool crlf;		/* -c: LF -> CRLF out, drop CR in */
	bool fork;		/* -f: a process per connection (server) */
	bool loop;		/* -l: accept the next connection (server) */
	bool quit;		/* -q: end of input closes the connection */
	bool readonly;		/* -r: never read stdin */
	bool server;		/* -s */
	bool verbose;		/* -v */
	bool writeonly;		/* -w: never read the socket */
	bool half_close;	/* --half-close: shutdown(SHUT_WR) at EOF */
	bool http;		/* --http: answer as HTTP/1.0 (server) */
	bool print_port;	/* --print-port (server) */
	bool tls;		/* --tls */
	bool insecure;		/* --insecure: no verification (client) */
	const char *cacert;	/* --cacert: verify the peer with these CAs */
	const char *tls_cert;	/* --tls-cert: our certificate chain */
	const char *tls_key;	/* --tls-key: its key */
	int family;		/* -4 (default) or -6 */
	const char *bind_host;	/* -B */
	const char *prog;	/* -p */
	uint64_t timeout_ms;	/* --timeout: connect and idle; 0 none */
	const char *host;	/* client */
	const char *port;	/* as typed */
	const char *path;	/* a unix-domain socket instead */
};

/* The one connection this process serves. */
struct conn {
	struct whirl_stream *net;
	struct whirl_stream *local;	/* stdio or the program's pipes */
	struct whirl_process *proc;	/* -p */
	struct whirl_relay *up;		/* local -> net */
	struct whirl_relay *down;	/* net -> local */
	struct whirl_timer *tick;	/* idle timeout, keepalive */
	uint64_t moved, active_ms;	/* net bytes at the last activity */
	size_t head;			/* --http: bytes of the head */
	bool reads_net, reads_local;	/* which sides we read at all */
	uintptr_t id;			/* tells connections apart */
};

static struct opts o;
static int port;			/* parsed from o.port */
static char service[64];		/* its name in the services db */
static struct whirl_loop *loop;
static struct whirl_tcpserver *srv;
static struct whirl_tls_ctx *tls;	/* --tls */
static struct whirl_stream *stdio;	/* fds 0 and 1, made when first used */
static struct whirl_process *prev_proc;	/* -l: kept until the next one */
static struct conn conn;
static bool stdin_done;			/* EOF seen without -q: never again */
static bool forked_child;		/* -f: serving one connection */
static int fork_fd = -1;		/* -f: accepted, waiting for fork() */
static int status;			/* the exit status */
static int saved_fl[2];			/* fds 0, 1 as we found them */
static uintptr_t conn_count;		/* connections started */

static void conn_start(struct whirl_stream *net);
static void conn_begin(void);
static void conn_end(void);

/*
 * Messages
 */

static void
usage_to(FILE *f, bool full)
{
	const char *me = program_invocation_short_name;

	fprintf(f, "Usage: %s [-bclqrvw] [-B local ip] [-p prog] "
	    "{{-s|host} port | [-s] /path}\n", me);
	if (!full)
		return;
	fprintf(f, "       %s [-46f] [--half-close] [--http] [--print-port] "
	    "[--timeout seconds] ...\n", me);
	fprintf(f, "       %s --tls [--cacert file] [--insecure] "
	    "[--tls-cert file --tls-key file] ...\n", me);
	fputs("Options the usage line leaves out, and the new ones:\n"
	    "  -4, --ipv4             IPv4 (the default)\n"
	    "  -6, --ipv6             IPv6\n"
	    "  -f                     fork a process for each connection "
	    "(server)\n"
	    "      --half-close       at end of input shut down the sending "
	    "side, read on\n"
	    "      --http             answer each connection as HTTP/1.0 "
	    "(server)\n"
	    "      --print-port       print the bound port alone on stderr "
	    "(server)\n"
	    "      --timeout SECONDS  connect and idle timeout\n"
	    "      --tls              TLS on the connection; a client verifies "
	    "the server\n"
	    "      --cacert FILE      verify the peer with the CAs in FILE (a "
	    "server then\n"
	    "                         requires client certificates)\n"
	    "      --insecure         do not verify the server (client)\n"
	    "      --tls-cert FILE    our certificate chain, PEM (needed with "
	    "-s --tls)\n"
	    "      --tls-key FILE     its private key, PEM\n"
	    "      --help             print this help and exit\n"
	    "      --version          print the version and exit\n", f);
}

static void __attribute__((noreturn))
usage(void)
{
	usage_to(stderr, false);
	exit(EXIT_USAGE);
}

static void __attribute__((format(printf, 1, 2)))
verbose(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!o.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

static void
senseless(const char *what, bool fatal)
{
	fprintf(stderr, "It does not make sense to set %s.\n", what);
	if (fatal)
		exit(EXIT_USAGE);
}

static const char *
family_word(int family)
{
	return family == AF_UNIX ? "unix" : family == AF_INET6 ? "inet6" :
	    "inet";
}

/*
 * Options
 */

enum { OPT_HALF_CLOSE = 256, OPT_HELP, OPT_HTTP, OPT_PRINT_PORT,
    OPT_TIMEOUT, OPT_VERSION, OPT_TLS, OPT_CACERT, OPT_INSECURE,
    OPT_TLS_CERT, OPT_TLS_KEY };

static const struct option longopts[] = {
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "half-close", no_argument, NULL, OPT_HALF_CLOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "http", no_argument, NULL, OPT_HTTP },
	{ "ipv4", no_argument, NULL, '4' },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "ipv6", no_argument, NULL, '6' },
	{ "print-port", no_argument, NULL, OPT_PRINT_PORT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static uint64_t
parse_timeout(const char *arg)
{
	uint64_t ms;

	if (whirl_parse_seconds(arg, 0, 1e7, &ms) == -1 || ms == 0) {
		warnx("invalid timeout: %s", arg);
		usage();
	}
	return ms;
}

/* Operands: [host] port, or one path (it contains a slash). */
static void
parse_operands(int n, char **args)
{
	if (n >= 1 && strchr(args[0], '/') != NULL) {
		if (n != 1)
			usage();
		o.path = args[0];
	} else if (o.server && n == 1) {
		o.port = args[0];
	} else if (!o.server && n == 2) {
		o.host = args[0];
		o.port = args[1];
	} else {
		usage();
	}
}

/* The TLS options mean something only with --tls; a server needs its
 * certificate and key, and a client may present both or neither. */
static void
check_tls_opts(void)
{
	if (!o.tls) {
		if (o.cacert != NULL)
			senseless("--cacert and not --tls", true);
		if (o.insecure)
			senseless("--insecure and not --tls", true);
		if (o.tls_cert != NULL)
			senseless("--tls-cert and not --tls", true);
		if (o.tls_key != NULL)
			senseless("--tls-key and not --tls", true);
		return;
	}
	if (o.insecure && o.server)
		senseless("--insecure and -s", true);
	if (o.insecure && o.cacert != NULL)
		senseless("--insecure and --cacert", true);
	if (o.server && (o.tls_cert == NULL || o.tls_key == NULL)) {
		warnx("-s --tls needs --tls-cert and --tls-key");
		usage();
	}
	if ((o.tls_cert == NULL) != (o.tls_key == NULL)) {
		warnx("--tls-cert and --tls-key go together");
		usage();
	}
}

/* Every combination that makes no sense is refused here, before any I/O,
 * in the original's order; -f without -s only earns a warning. */
static void
check_opts(bool ipv4)
{
	if (o.readonly && o.writeonly)
		senseless("-r and -w", true);
	if (o.loop && !o.server)
		senseless("-l and not -s", true);
	if (o.background && !o.server)
		senseless("-b and not -s", true);
	if (o.fork && !o.server)
		senseless("-f and not -s", false);
	if (ipv4 && o.family == AF_INET6)
		senseless("-4 and -6", true);
	if (o.http && !o.server)
		senseless("--http and not -s", true);
	if (o.print_port && !o.server)
		senseless("--print-port and not -s", true);
	if (o.http && o.readonly)
		senseless("-r and --http", true);
	if (o.half_close && o.quit)
		senseless("-q and --half-close", true);
	if (o.half_close && o.http)
		senseless("--http and --half-close", true);
	check_tls_opts();
}

static void
parse_opts(int argc, char **argv)
{
	bool ipv4 = false;
	int ch;

	o.family = AF_INET;
	while ((ch = getopt_long(argc, argv, "46B:bcflp:qrsvWw?", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case '4':
			ipv4 = true;
			break;
		case '6':
			o.family = AF_INET6;
			break;
		case 'B':
			o.bind_host = optarg;
			break;
		case 'b':
			o.background = true;
			break;
		case 'c':
			o.crlf = true;
			break;
		case 'f':
			o.fork = true;
			break;
		case 'l':
			o.loop = true;
			break;
		case 'p':
			o.prog = optarg;
			break;
		case 'q':
			o.quit = true;
			break;
		case 'r':
			o.readonly = true;
			break;
		case 's':
			o.server = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'w':
			o.writeonly = true;
			break;
		case OPT_HALF_CLOSE:
			o.half_close = true;
			break;
		case OPT_HELP:
			usage_to(stdout, true);
			exit(0);
		case OPT_HTTP:
			o.http = true;
			break;
		case OPT_PRINT_PORT:
			o.print_port = true;
			break;
		case OPT_TIMEOUT:
			o.timeout_ms = parse_timeout(optarg);
			break;
		case OPT_VERSION:
			printf("whirl-socket %s\n", WHIRL_VERSION);
			exit(0);
		case OPT_TLS:
			o.tls = true;
			break;
		case OPT_CACERT:
			o.cacert = optarg;
			break;
		case OPT_INSECURE:
			o.insecure = true;
			break;
		case OPT_TLS_CERT:
			o.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o.tls_key = optarg;
			break;
		default:	/* -W, -? and getopt's complaints */
			usage();
		}
	}
	parse_operands(argc - optind, argv + optind);
	check_opts(ipv4);
}

/*
 * Names and addresses
 */

/* A port is a number (0-65535, digits only) or a TCP service name; fills
 * `port` and `service`.  -1 for anything else. */
static int
parse_port(const char *arg)
{
	struct servent *se;
	const char *p = arg;

	if (arg[strspn(arg, "0123456789")] == '\0') {
		while (*p == '0' && p[1] != '\0')
			p++;
		if (strlen(p) > 5 || atoi(p) > 65535)
			return -1;
		port = atoi(p);
		se = getservbyport(htons(port), "tcp");
	} else {
		if ((se = getservbyname(arg, "tcp")) == NULL)
			return -1;
		port = ntohs(se->s_port);
	}
	if (se != NULL)
		snprintf(service, sizeof(service), " (%s)", se->s_name);
	return 0;
}

/* Resolve host (o.family only) to its first address with `port_num`;
 * `shown` gets the name for -v lines: a literal as typed, else the
 * canonical name.  -1 if there is no such host. */
static int
lookup_host(const char *host, int port_num, struct whirl_addr *a,
    char *shown, size_t size)
{
	struct addrinfo hints = { 0 }, *res;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	snprintf(shown, size, "%s", host);
	/* inet_aton, as the original's inet_addr, takes 127.1 too. */
	if (o.family == AF_INET && inet_aton(host, &sin->sin_addr)) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port_num);
		a->len = sizeof(*sin);
		return 0;
	}
	if (o.family == AF_INET6 &&
	    whirl_addr_parse_literal(host, port_num, AF_INET6, a) == 0)
		return 0;
	hints.ai_family = o.family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	if (o.family == AF_INET)
		sin->sin_port = htons(port_num);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port_num);
	if (res->ai_canonname != NULL)
		snprintf(shown, size, "%s", res->ai_canonname);
	freeaddrinfo(res);
	return 0;
}

/* The peer's name as gethostbyaddr would give it, else its address. */
static const char *
peer_name(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	if (getnameinfo(sa, len, buf, size, NULL, 0, NI_NAMEREQD) != 0 &&
	    getnameinfo(sa, len, buf, size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "?");
	return buf;
}

/*
 * Signals: as the original, every signal a user may send ends the program
 * with a message and status 256 - signo.  The handler only writes a
 * message made beforehand and leaves fds 0 and 1 as it found them.
 */

static char sigmsg[NSIG][64];

static const char *
signal_text(int signo)
{
	switch (signo) {
	case SIGHUP:	return "Hangup signal";
	case SIGINT:	return "Interrupt";
	case SIGTRAP:	return "BPT trace/trap";
	case SIGUSR2:	return "User signal 2";
	case SIGPIPE:	return "Broken pipe condition";
	case SIGALRM:	return "Alarm clock signal";
	case SIGTERM:	return "Termination signal";
	case SIGURG:	return "Urgent IO condition";
	case SIGXCPU:	return "CPU limit exceeded";
	case SIGXFSZ:	return "File limit exceeded";
	case SIGVTALRM:	return "Alarm (virtual)";
	case SIGPROF:	return "Alarm (profile)";
	case SIGIO:	return "I/O ready signal";
	case SIGPWR:	return "power failure imminent signal";
	case SIGSYS:	return "Bad system call";
	default:	return NULL;
	}
}

static void
on_signal(int signo)
{
	size_t len = strlen(sigmsg[signo]);
	ssize_t n;

	if (saved_fl[0] != -1)
		fcntl(0, F_SETFL, saved_fl[0]);
	if (saved_fl[1] != -1)
		fcntl(1, F_SETFL, saved_fl[1]);
	n = write(2, sigmsg[signo], len);
	(void)n;
	_exit(256 - signo);
}

/* Job control, SIGCHLD, SIGWINCH and SIGQUIT keep their disposition as in
 * the original; crash signals too, so that a crash is reported as one. */
static bool
signal_kept(int signo)
{
	switch (signo) {
	case SIGQUIT: case SIGKILL: case SIGSTOP: case SIGTSTP:
	case SIGTTIN: case SIGTTOU: case SIGCONT: case SIGCHLD:
	case SIGWINCH: case SIGSEGV: case SIGBUS: case SIGFPE:
	case SIGILL: case SIGABRT:
		return true;
	default:
		return false;
	}
}

static void
catch_signals(void)
{
	struct sigaction sa = { 0 };
	const char *text;
	int signo;

	saved_fl[0] = fcntl(0, F_GETFL);
	saved_fl[1] = fcntl(1, F_GETFL);
	sigfillset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	for (signo = 1; signo < NSIG; signo++) {
		if (signal_kept(signo))
			continue;
		text = signal_text(signo);
		if (signo != SIGUSR1 && text != NULL)
			snprintf(sigmsg[signo], sizeof(sigmsg[signo]),
			    "\n%s occured, exiting\n", text);
		else if (signo != SIGUSR1)
			snprintf(sigmsg[signo], sizeof(sigmsg[signo]),
			    "\nUnknown Signal #%d occured, exiting\n", signo);
		sigaction(signo, &sa, NULL);	/* glibc refuses 32, 33 */
	}
	/* A peer or a program that went away is a write error, not death. */
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Copying: the relays
 */

/* Errors a read cannot give. */
static bool
write_only_error(int e)
{
	return e == EPIPE || e == ENOSPC || e == EDQUOT || e == EFBIG;
}

/* A TLS failure: its own message, and EPROTO as the exit status. */
static void
tls_error(const char *err)
{
	warnx("tls: %s", err);
	status = EXIT_TLS;
}

/* True when a TLS connection failed for a reason of OpenSSL's (an alert,
 * a bad record) rather than a system error. */
static bool
tls_failure(void)
{
	return conn.net != NULL && whirl_stream_is_tls(conn.net) &&
	    whirl_stream_closed(conn.net) &&
	    whirl_stream_error(conn.net) == EPROTO;
}

/* Report a failed read or write as socket(1) did.  The library tells why
 * a stream failed, not whether reading or writing it did: a stream we
 * never read, an error only writes give, or a stream still open (the
 * program's, whose input alone was lost) means a write.  TLS failures
 * after the handshake (TLS 1.3 refuses a client certificate only then)
 * are reported as during it. */
static void
io_error(const char *err)
{
	bool net = conn.net != NULL && whirl_stream_closed(conn.net);
	bool reads = net ? conn.reads_net : conn.reads_local;
	struct whirl_stream *failed = net ? conn.net : conn.local;

	if (tls_failure()) {
		tls_error(err);
		return;
	}
	if (reads && !(failed != NULL && (!whirl_stream_closed(failed) ||
	    write_only_error(whirl_stream_error(failed))))) {
		warnx("read: %s", err);
		return;
	}
	warnx("write: %s", err);
	warnx("error writing to %s", net ? "socket" : "stdout");
}

static void drain(void);

/* -q over TLS closes as --http does (drain()): a TLS 1.3 server sends its
 * session tickets unasked, and a close with them unread is a reset, which
 * throws away what we sent and the peer has not yet read. */
static bool
quit_drains(void)
{
	return o.quit && tls != NULL;
}

/* Reading the peer is over: it closed, or the copy failed. */
static void
peer_done(const char *err)
{
	if (err != NULL)
		io_error(err);
	else
		verbose("connection closed by peer");
	conn_end();
}

/* What the peer sends after the program closed its input: dropped, until
 * the peer closes. */
static void
discarded(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)s;
	(void)data;
	(void)arg;
	if (len == 0 || err != NULL)
		peer_done(err);
}

/* The program closed its input (or exited) while its output is still
 * open: what it has yet to print is not lost, as it would not be had its
 * stdin been the socket itself.  Only when nothing more can come from the
 * program is a write into it an error. */
static bool
program_input_closed(const char *err)
{
	return err != NULL && conn.proc != NULL && conn.up != NULL &&
	    !whirl_stream_closed(conn.local) && !whirl_stream_closed(conn.net);
}

static void
down_done(struct whirl_relay *r, const char *err, void *arg)
{
	(void)arg;
	whirl_relay_free(r);
	conn.down = NULL;
	if (program_input_closed(err)) {
		verbose("the program closed its input");
		if (whirl_stream_read_until_close(conn.net, discarded,
		    NULL) == 0)
			return;
	}
	peer_done(err);
}

static void
up_done(struct whirl_relay *r, const char *err, void *arg)
{
	(void)arg;
	whirl_relay_free(r);
	conn.up = NULL;
	if (err != NULL) {
		io_error(err);
		conn_end();
	} else if (o.http || quit_drains()) {
		drain();
	} else if (o.quit) {
		verbose("connection closed");
		conn_end();
	} else {
		verbose("end of input on stdin");
		if (conn.proc == NULL)
			stdin_done = true;
		/* --half-close has shut the socket down; under -w nothing
		 * is left to wait for.  Without it, -w waits forever, as
		 * the original did. */
		if (o.half_close && conn.down == NULL)
			conn_end();
	}
}

static int
start_relays(void)
{
	enum whirl_relay_eof up_eof = o.half_close || o.http ||
	    quit_drains() ? WHIRL_RELAY_EOF_SHUTDOWN : WHIRL_RELAY_EOF_NONE;

	if (!o.writeonly) {
		conn.down = whirl_relay_new(conn.net, conn.local,
		    WHIRL_RELAY_EOF_NONE, down_done, NULL);
		if (conn.down == NULL)
			return -1;
		if (o.crlf)
			whirl_relay_set_filter(conn.down, whirl_filter_drop_cr, NULL);
	}
	if (!o.readonly && (conn.proc != NULL || !stdin_done)) {
		conn.up = whirl_relay_new(conn.local, conn.net, up_eof, up_done,
		    NULL);
		if (conn.up == NULL)
			return -1;
		conn.reads_local = true;
		if (o.crlf)
			whirl_relay_set_filter(conn.up, whirl_filter_lf_to_crlf,
			    NULL);
	} else if (o.http) {
		/* Nothing to send: the answer is the header alone. */
		drain();
	}
	return 0;
}

/*
 * --http: read the request head (lines up to an empty one), answer with a
 * status line and headers before what the program prints, shut down the
 * write side, and read what the client still sends before closing, so
 * that it sees our FIN, not a reset (drain(), which -q over TLS uses too).
 */

/* The drain is over: the peer closed, or DRAIN_MS or DRAIN_MAX passed. */
static void
drained(struct whirl_stream *s, const char *err, void *arg)
{
	(void)s;
	(void)err;
	(void)arg;
	verbose("connection closed");
	conn_end();
}

/* Our side is done: shut down after what is queued, and discard what the
 * peer still sends until it closes, for up to DRAIN_MS and DRAIN_MAX
 * bytes, then close (a lingering close). */
static void
drain(void)
{
	whirl_relay_free(conn.down);
	conn.down = NULL;
	whirl_stream_set_close_cb(conn.net, drained, NULL);
	if (whirl_stream_linger(conn.net, DRAIN_MS, DRAIN_MAX) == -1)
		drained(conn.net, NULL, NULL);
}

static void
http_answer(struct whirl_loop *l, void *arg)
{
	(void)l;
	if (conn.net == NULL || conn.id != (uintptr_t)arg)
		return;		/* that connection is over */
	if (start_relays() == -1) {
		warnx("%s", whirl_error());
		conn_end();
	}
}

static void
http_head(struct whirl_stream *s, const char *data, size_t len,
    const char *err, void *arg)
{
	(void)arg;
	if (err == whirl_err_too_long || (err == NULL &&
	    conn.head + len >= HTTP_HEAD_MAX)) {
		whirl_stream_write(s, http_too_long, sizeof(http_too_long) - 1,
		    NULL, NULL);
		drain();
		return;
	}
	if (err != NULL) {
		if (err == whirl_err_closed)
			verbose("connection closed by peer");
		else
			io_error(err);
		conn_end();
		return;
	}
	conn.head += len;
	if ((len == 1 && data[0] == '\n') ||
	    (len == 2 && data[0] == '\r' && data[1] == '\n')) {
		whirl_stream_write(s, http_ok, sizeof(http_ok) - 1, NULL, NULL);
		/* A relay started from inside a read callback of its source
		 * never runs (iostream.c stops reading after the callback):
		 * start it on the next turn. */
		whirl_loop_add_callback(loop, http_answer,
		    (void *)(uintptr_t)conn.id);
		return;
	}
	whirl_stream_read_until(s, "\n", 1, HTTP_HEAD_MAX - conn.head,
	    http_head, NULL);
}

/*
 * Connections
 */

static uint64_t
net_bytes(void)
{
	struct whirl_stream_stats st;

	whirl_stream_stats(conn.net, &st);
	return st.bytes_read + st.bytes_written;
}

/* Idle timeout, or only a reason for the loop to stay up (-w after the
 * end of input waits forever). */
static void
tick(struct whirl_timer *t, void *arg)
{
	uint64_t now = whirl_loop_now_ms(loop), moved = net_bytes();

	(void)t;
	(void)arg;
	if (moved != conn.moved) {
		conn.moved = moved;
		conn.active_ms = now;
	}
	if (o.timeout_ms != 0 && now - conn.active_ms >= o.timeout_ms) {
		warnx("client socket: %s", strerror(ETIMEDOUT));
		status = ETIMEDOUT;
		conn_end();
	}
}

static uint64_t
tick_ms(void)
{
	uint64_t ms = o.timeout_ms != 0 ? o.timeout_ms / 8 : KEEPALIVE_MS;

	return ms < 5 ? 5 : ms;
}

static struct whirl_stream *
stdio_stream(void)
{
	if (stdio != NULL && !whirl_stream_closed(stdio))
		return stdio;
	whirl_stream_free(stdio);
	stdio = whirl_stream_new_pair(loop, 0, 1,
	    WHIRL_STREAM_BORROW_FD | WHIRL_STREAM_HALF_CLOSE);
	if (stdio == NULL)
		errx(1, "%s", whirl_error());
	return stdio;
}

static void
tls_done(struct whirl_stream *s, const char *err, void *arg)
{
	(void)s;
	(void)arg;
	if (err != NULL) {
		tls_error(err);
		conn_end();
		return;
	}
	conn_begin();
}

/* A connection is made: with --tls shake hands first (the idle timeout
 * covers the handshake), then begin. */
static void
conn_start(struct whirl_stream *net)
{
	conn.net = net;
	conn.id = ++conn_count;
	conn.reads_net = !o.writeonly || o.http;
	conn.tick = whirl_timer_new(loop, tick, NULL);
	whirl_timer_start(conn.tick, tick_ms(), true);
	conn.active_ms = whirl_loop_now_ms(loop);
	if (tls == NULL) {
		conn_begin();
		return;
	}
	/* A client checks the host operand as typed; a unix-domain path
	 * names no host, and only the chain is verified. */
	if (whirl_stream_start_tls(net, tls, o.server ? NULL : o.host, 0,
	    tls_done, NULL) == -1) {
		warnx("%s", whirl_error());	/* "tls: bad host name ..." */
		status = EXIT_TLS;
		conn_end();
	}
}

/* The connection begins: the program or stdio, then the relays (or the
 * --http request head first). */
static void
conn_begin(void)
{
	struct whirl_process_options po = {
		.stream_flags = WHIRL_STREAM_HALF_CLOSE
	};

	if (o.prog != NULL) {
		/* The last program gets its EOF only now (as the original). */
		whirl_process_free(prev_proc);
		prev_proc = NULL;
		if ((conn.proc = whirl_process_new(loop, o.prog, &po, NULL,
		    NULL)) == NULL) {
			warnx("fork: %s", whirl_error());
			exit(whirl_error_errno() != 0 ? whirl_error_errno() : 1);
		}
		conn.local = whirl_process_stream(conn.proc);
	} else {
		conn.local = stdio_stream();
	}
	if (o.http)
		whirl_stream_read_until(conn.net, "\n", 1, HTTP_HEAD_MAX,
		    http_head, NULL);
	else if (start_relays() == -1) {
		warnx("%s", whirl_error());
		conn_end();
	}
}

/* The connection is over, for whatever reason: free it, then accept the
 * next (-l) or let main finish. */
static void
conn_end(void)
{
	whirl_relay_free(conn.up);
	whirl_relay_free(conn.down);
	whirl_timer_free(conn.tick);
	if (conn.net != NULL)	/* drained() must not come back here */
		whirl_stream_set_close_cb(conn.net, NULL, NULL);
	/* whirl_stream_free sends no close_notify: without it the peer sees
	 * a truncation ("unexpected eof"), not the end. */
	if (conn.net != NULL && whirl_stream_is_tls(conn.net)) {
		whirl_stream_cancel_read(conn.net);
		whirl_stream_close(conn.net);
	}
	whirl_stream_free(conn.net);
	if (conn.proc != NULL && o.loop && !o.fork)
		prev_proc = conn.proc;
	else
		whirl_process_free(conn.proc);
	memset(&conn, 0, sizeof(conn));
	if (srv != NULL && o.loop && !forked_child)
		whirl_tcpserver_resume(srv);
	else
		whirl_loop_stop(loop);
}

/*
 * Client
 */

static void
connected(struct whirl_connect *c, struct whirl_stream *s, int errnum,
    const char *err, void *arg)
{
	const char *shown = arg;

	(void)c;
	(void)err;
	if (s == NULL) {
		warnx("client socket: %s", strerror(errnum));
		status = errnum != 0 ? errnum : 1;
		whirl_loop_stop(loop);
		return;
	}
	if (o.path != NULL)
		verbose("unix: connected to %s", o.path);
	else
		verbose("%s: connected to %s port %d%s", family_word(o.family),
		    shown, port, service);
	conn_start(s);
}

static void
client(void)
{
	struct whirl_connect_opts co = { 0 };
	struct whirl_addr a;
	char shown[NI_MAXHOST], bound[NI_MAXHOST];

	if (o.path != NULL) {
		if (whirl_addr_unix(o.path, &a) == -1) {
			warnx("client socket: %s",
			    strerror(whirl_error_errno()));
			exit(whirl_error_errno());
		}
	} else if (lookup_host(o.host, port, &a, shown, sizeof(shown)) == -1) {
		errx(EXIT_HOST, "unknown host %s", o.host);
	}
	/* An -B address that does not resolve is ignored, as it was. */
	if (o.bind_host != NULL && o.path == NULL &&
	    lookup_host(o.bind_host, 0, &co.bind, bound, sizeof(bound)) == -1)
		co.bind.len = 0;
	co.timeout_ms = o.timeout_ms;
	co.stream_flags = WHIRL_STREAM_HALF_CLOSE;
	whirl_tcp_connect(loop, (struct sockaddr *)&a.ss, a.len, &co,
	    connected, shown);
	whirl_loop_run(loop);
}

/*
 * Server
 */

static void
accepted(struct whirl_tcpserver *s, struct whirl_stream *net,
    const struct sockaddr *peer, socklen_t len, void *arg)
{
	char name[NI_MAXHOST];

	(void)arg;
	if (o.path != NULL)
		verbose("unix: connection from %s", o.path);
	else if (o.verbose)
		verbose("%s: connection from %s", family_word(peer->sa_family),
		    peer_name(peer, len, name, sizeof(name)));
	whirl_tcpserver_pause(s);
	if (!o.fork) {
		conn_start(net);
		return;
	}
	/* Fork outside the loop's callbacks, with nothing of ours in its
	 * backend: the child frees this loop and makes its own. */
	fork_fd = fcntl(whirl_stream_fd(net), F_DUPFD_CLOEXEC, 3);
	whirl_stream_free(net);
	if (fork_fd == -1) {
		warn("accept");
		whirl_tcpserver_resume(s);
		return;
	}
	whirl_loop_stop(loop);
}

static void
serve_forked(void)
{
	struct sigaction sa = { 0 };
	struct whirl_stream *net;

	forked_child = true;
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	whirl_tcpserver_free(srv);
	srv = NULL;
	whirl_loop_free(loop);
	if ((loop = whirl_loop_new()) == NULL ||
	    (net = whirl_stream_new(loop, fork_fd, 0)) == NULL)
		errx(1, "%s", whirl_error());
	fork_fd = -1;
	conn_start(net);
	whirl_loop_run(loop);
}

/* Accept until done; with -f each accepted connection gets a process. */
static void
accept_loop(void)
{
	struct sigaction sa = { 0 };
	pid_t pid;

	if (o.fork) {
		/* Children are reaped by the kernel (no zombies). */
		sa.sa_handler = SIG_DFL;
		sa.sa_flags = SA_NOCLDWAIT;
		sigaction(SIGCHLD, &sa, NULL);
	}
	for (;;) {
		whirl_loop_run(loop);
		if (fork_fd == -1)
			break;
		if ((pid = fork()) == 0) {
			serve_forked();
			return;
		}
		if (pid == -1)
			warn("fork");
		close(fork_fd);
		fork_fd = -1;
		if (!o.loop)
			break;
		whirl_tcpserver_resume(srv);
	}
}

/* The original removes any socket file in the way, even a live one. */
static int
listen_unix(void)
{
	struct stat st;

	if (lstat(o.path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(o.path);
	return whirl_listen_unix(o.path, BACKLOG);
}

static int
listen_tcp(void)
{
	struct whirl_addr a = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;
	char shown[NI_MAXHOST];

	if (o.bind_host == NULL ||
	    lookup_host(o.bind_host, port, &a, shown, sizeof(shown)) == -1) {
		memset(&a, 0, sizeof(a));
		if (o.family == AF_INET6) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = in6addr_any;
			sin6->sin6_port = htons(port);
			a.len = sizeof(*sin6);
		} else {
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
			sin->sin_port = htons(port);
			a.len = sizeof(*sin);
		}
	}
	return whirl_listen_tcp((struct sockaddr *)&a.ss, a.len, BACKLOG, 0);
}

static void
server(void)
{
	int fd;

	fd = o.path != NULL ? listen_unix() : listen_tcp();
	srv = whirl_tcpserver_new(loop, WHIRL_STREAM_HALF_CLOSE, accepted,
	    NULL);
	if (fd == -1 || whirl_tcpserver_add_fd(srv, fd) == -1) {
		warnx("server socket: %s", strerror(whirl_error_errno()));
		exit(1);
	}
	if (o.print_port && o.path == NULL)
		fprintf(stderr, "%d\n", whirl_fd_local_port(fd));
	if (o.path != NULL)
		verbose("unix: bound to %s", o.path);
	else
		verbose("%s: listening on port %d%s", family_word(o.family),
		    port, service);
	accept_loop();
	if (forked_child)
		return;
	whirl_tcpserver_free(srv);
	srv = NULL;
	if (o.path != NULL)
		unlink(o.path);
}

/*
 * Start and finish
 */

/* The TLS context, made before any connection (and before -b detaches)
 * so that a bad certificate or key is told at once. */
static void
tls_setup(void)
{
	struct whirl_tls_server_opts so = { 0 };
	struct whirl_tls_client_opts co = { 0 };

	if (!o.tls)
		return;
	if (o.server) {
		so.cert_file = o.tls_cert;
		so.key_file = o.tls_key;
		so.client_ca_file = o.cacert;
		so.require_client_cert = o.cacert != NULL;
		tls = whirl_tls_server_new(&so);
	} else {
		co.cafile = o.cacert;
		co.cert_file = o.tls_cert;
		co.key_file = o.tls_key;
		co.insecure = o.insecure;
		tls = whirl_tls_client_new(&co);
	}
	if (tls == NULL) {
		warnx("%s", whirl_error());
		exit(whirl_error_errno() != 0 ? whirl_error_errno() : EXIT_TLS);
	}
}

/* A closed fd 0-2 gets /dev/null, so that no socket lands on it. */

/* -b: the parent exits at once; the child leaves the terminal. */
static void
detach(void)
{
	pid_t pid = fork();
	int fd, null;

	if (pid == -1)
		err(1, "fork");
	if (pid > 0)
		exit(0);
	setsid();
	if (chdir("/") == -1)
		err(1, "chdir /");
	if ((null = open("/dev/null", O_RDWR)) == -1)
		err(1, "/dev/null");
	for (fd = 0; fd < 3; fd++)
		if (isatty(fd))
			dup2(null, fd);
	if (null > 2)
		close(null);
}

static void
flushed(struct whirl_stream *s, const char *err, void *arg)
{
	(void)s;
	(void)err;
	(void)arg;
	whirl_loop_stop(loop);
}

/* What the peer sent may still wait for a slow stdout. */
static void
finish(void)
{
	if (stdio != NULL && !whirl_stream_closed(stdio) &&
	    whirl_stream_write_pending(stdio) > 0 &&
	    whirl_stream_write(stdio, "", 0, flushed, NULL) == 0)
		whirl_loop_run(loop);
	whirl_process_free(prev_proc);
	whirl_stream_free(stdio);
	whirl_tcpserver_free(srv);
	whirl_loop_free(loop);
	whirl_tls_ctx_free(tls);
}

int
main(int argc, char **argv)
{
	if (whirl_std_fds_open() == -1)
		_exit(1);
	if (argc > 1 && strcmp(argv[1], "-version") == 0) {
		printf("whirl-socket %s\n", WHIRL_VERSION);
		return 0;
	}
	parse_opts(argc, argv);
	catch_signals();
	if (o.path == NULL && parse_port(o.port) == -1)
		errx(EXIT_SERVICE, "unknown service");
	tls_setup();
	if (o.background)
		detach();
	if ((loop = whirl_loop_new()) == NULL)
		errx(1, "%s", whirl_error());
	if (o.server)
		server();
	else
		client();
	finish();
	return status;
}
