/* test_writeout.c - curl's --write-out formats over a response. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "error.h"
#include "httpclient.h"
#include "httputil.h"
#include "writeout.h"
#include "unit.h"

static struct whirl_headers *hdrs;
static struct whirl_http_response resp;
static struct whirl_writeout_vars vars;

static void
fixture(void)
{
	whirl_headers_free(hdrs);
	hdrs = whirl_headers_new();
	whirl_headers_add(hdrs, "Content-Type", "text/plain");
	whirl_headers_add(hdrs, "X-Quote", "a \"b\"\\c");
	memset(&resp, 0, sizeof(resp));
	resp.code = 201;
	resp.reason = "Created";
	resp.major = resp.minor = 1;
	resp.headers = hdrs;
	resp.url = "https://h/x";
	resp.method = "POST";
	resp.size_download = 17;
	resp.size_header = 80;
	resp.size_upload = 3;
	resp.num_connects = 1;
	resp.remote_ip = "127.0.0.1";
	resp.remote_port = 8080;
	resp.local_ip = "127.0.0.1";
	resp.local_port = 5555;
	resp.time_connect = 0.001;
	resp.time_total = 0.5;
	resp.redirect_url = NULL;
	vars = (struct whirl_writeout_vars){ &resp, 0, NULL, "out.txt",
		"https://h/x", 2, "9.9" };
}

/* The expansion of fmt: "out|err", or "ERROR: msg|out|err". */
static char *
expand(const char *fmt)
{
	struct evbuffer *o = evbuffer_new(), *e = evbuffer_new();
	char *s;
	int rc = whirl_writeout(o, e, fmt, &vars);

	evbuffer_add(o, "|", 1);
	evbuffer_add_buffer(o, e);
	evbuffer_add(o, "", 1);
	if (rc == -1)
		evbuffer_prepend(o, "|", 1), evbuffer_prepend(o, whirl_error(),
		    strlen(whirl_error()));
	s = strdup((const char *)evbuffer_pullup(o, -1));
	evbuffer_free(o);
	evbuffer_free(e);
	return s;
}

#define EXPANDS(fmt, want)                                                 \
	do {                                                               \
		char *got_ = expand(fmt);                                  \
		CHECK_EQ_STR(got_, want);                                  \
		free(got_);                                                \
	} while (0)

TEST(variables)
{
	fixture();
	EXPANDS("%{http_code} %{response_code} %{http_version} %{method}",
	    "201 201 1.1 POST|");
	EXPANDS("%{size_download} %{size_header} %{size_upload} "
	    "%{speed_download}", "17 80 3 34|");
	EXPANDS("%{time_connect} %{time_total} %{time_redirect}",
	    "0.001000 0.500000 0.000000|");
	EXPANDS("%{url} %{url_effective} %{urlnum} %{scheme}",
	    "https://h/x https://h/x 2 HTTPS|");
	EXPANDS("%{remote_ip}:%{remote_port} %{local_ip}:%{local_port}",
	    "127.0.0.1:8080 127.0.0.1:5555|");
	EXPANDS("%{content_type}|%{header{x-quote}}|%{header{none}}|",
	    "text/plain|a \"b\"\\c|||");
	EXPANDS("[%{errormsg}] %{exitcode} %{filename_effective}",
	    "[] 0 out.txt|");
	resp.code = 0;
	EXPANDS("%{http_code} %{http_version}", "000 0|");
}

TEST(text_and_escapes)
{
	fixture();
	EXPANDS("a\\tb\\nc\\rd\\\\e\\qf 100%% %", "a\tb\nc\rd\\e\\qf 100% %|");
	EXPANDS("%{stderr}to err%{stdout} to out", " to out|to err");
	EXPANDS("unclosed %{http_code", "unclosed %{http_code|");
	EXPANDS("%{nosuch} %{http_code} %{other}",
	    "unknown --write-out variable: 'nosuch'| 201 |");
	EXPANDS("before%{onerror}after", "before|");
	vars.exitcode = 7;
	vars.errormsg = "Failed to connect";
	EXPANDS("before%{onerror}after %{errormsg}",
	    "beforeafter Failed to connect|");
}

TEST(json)
{
	fixture();
	resp.reason = "OK";
	EXPANDS("%{json}", "{\"content_type\":\"text/plain\",\"errormsg\":null,"
	    "\"exitcode\":0,\"filename_effective\":\"out.txt\","
	    "\"http_code\":201,\"http_version\":\"1.1\","
	    "\"local_ip\":\"127.0.0.1\",\"local_port\":5555,"
	    "\"method\":\"POST\",\"num_connects\":1,\"num_redirects\":0,"
	    "\"redirect_url\":null,\"remote_ip\":\"127.0.0.1\","
	    "\"remote_port\":8080,\"response_code\":201,\"scheme\":\"HTTPS\","
	    "\"size_download\":17,\"size_header\":80,\"size_upload\":3,"
	    "\"speed_download\":34,\"time_appconnect\":0.000000,"
	    "\"time_connect\":0.001000,\"time_namelookup\":0.000000,"
	    "\"time_pretransfer\":0.000000,\"time_redirect\":0.000000,"
	    "\"time_starttransfer\":0.000000,\"time_total\":0.500000,"
	    "\"url\":\"https://h/x\",\"url_effective\":\"https://h/x\","
	    "\"urlnum\":2,\"whirl_version\":\"9.9\"}|");
	/* Strings go through lib/escape's JSON escaping. */
	whirl_headers_set(hdrs, "Content-Type", "a\"b\\c\t</");
	vars.errormsg = "bad \xff byte";
	{
		char *got = expand("%{json}");

		CHECK(strstr(got, "\"content_type\":\"a\\\"b\\\\c\\t<\\/\","
		    "\"errormsg\":\"bad \xef\xbf\xbd byte\"") != NULL);
		free(got);
	}
	whirl_headers_free(hdrs);
	hdrs = NULL;
}

int
main(void)
{
	RUN(variables);
	RUN(text_and_escapes);
	RUN(json);
	return unit_done();
}
