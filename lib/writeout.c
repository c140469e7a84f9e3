/* writeout.c - curl's --write-out formats (writeout.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "error.h"
#include "escape.h"
#include "httpclient.h"
#include "httputil.h"
#include "internal.h"
#include "writeout.h"

/* Add variable `name` to m; false if there is no such variable. */
static bool
add_var(struct evbuffer *m, const char *name,
    const struct whirl_writeout_vars *v)
{
	const struct whirl_http_response *r = v->r;
	const char *s = NULL, *h;
	char hn[256];

	if (strcmp(name, "content_type") == 0)
		s = whirl_headers_get(r->headers, "Content-Type");
	else if (strcmp(name, "errormsg") == 0)
		s = v->errormsg;
	else if (strcmp(name, "exitcode") == 0)
		evbuffer_add_printf(m, "%d", v->exitcode);
	else if (strcmp(name, "filename_effective") == 0)
		s = v->filename;
	else if (strcmp(name, "http_code") == 0 ||
	    strcmp(name, "response_code") == 0)
		evbuffer_add_printf(m, "%03d", r->code);
	else if (strcmp(name, "http_version") == 0)
		r->code != 0 ? evbuffer_add_printf(m, r->minor ? "%d.%d" :
		    "%d", r->major, r->minor) : evbuffer_add(m, "0", 1);
	else if (strcmp(name, "local_ip") == 0)
		s = r->local_ip;
	else if (strcmp(name, "local_port") == 0)
		evbuffer_add_printf(m, "%d", r->local_port);
	else if (strcmp(name, "method") == 0)
		s = r->method;
	else if (strcmp(name, "num_connects") == 0)
		evbuffer_add_printf(m, "%d", r->num_connects);
	else if (strcmp(name, "num_redirects") == 0)
		evbuffer_add_printf(m, "%d", r->num_redirects);
	else if (strcmp(name, "redirect_url") == 0)
		s = !r->redirecting ? r->redirect_url : NULL;
	else if (strcmp(name, "remote_ip") == 0)
		s = r->remote_ip;
	else if (strcmp(name, "remote_port") == 0)
		evbuffer_add_printf(m, "%d", r->remote_port);
	else if (strcmp(name, "scheme") == 0)
		s = strncasecmp(r->url, "https:", 6) == 0 ? "HTTPS" : "HTTP";
	else if (strcmp(name, "size_download") == 0)
		evbuffer_add_printf(m, "%llu",
		    (unsigned long long)r->size_download);
	else if (strcmp(name, "size_header") == 0)
		evbuffer_add_printf(m, "%llu",
		    (unsigned long long)r->size_header);
	else if (strcmp(name, "size_upload") == 0)
		evbuffer_add_printf(m, "%llu",
		    (unsigned long long)r->size_upload);
	else if (strcmp(name, "speed_download") == 0)
		evbuffer_add_printf(m, "%.0f", r->time_total > 0 ?
		    (double)r->size_download / r->time_total : 0);
	else if (strcmp(name, "time_appconnect") == 0)
		evbuffer_add_printf(m, "%.6f", r->time_appconnect);
	else if (strcmp(name, "time_connect") == 0)
		evbuffer_add_printf(m, "%.6f", r->time_connect);
	else if (strcmp(name, "time_namelookup") == 0)
		evbuffer_add_printf(m, "%.6f", r->time_namelookup);
	else if (strcmp(name, "time_pretransfer") == 0)
		evbuffer_add_printf(m, "%.6f", r->time_pretransfer);
	else if (strcmp(name, "time_redirect") == 0)
		evbuffer_add_printf(m, "%.6f", r->time_redirect);
	else if (strcmp(name, "time_starttransfer") == 0)
		evbuffer_add_printf(m, "%.6f", r->time_starttransfer);
	else if (strcmp(name, "time_total") == 0)
		evbuffer_add_printf(m, "%.6f", r->time_total);
	else if (strcmp(name, "url") == 0)
		s = v->url;
	else if (strcmp(name, "url_effective") == 0)
		s = r->url;
	else if (strcmp(name, "urlnum") == 0)
		evbuffer_add_printf(m, "%zu", v->urlnum);
	else if (sscanf(name, "header{%255[^}]}", hn) == 1)
		s = (h = whirl_headers_get(r->headers, hn)) != NULL ? h : "";
	else
		return false;
	if (s != NULL)
		evbuffer_add(m, s, strlen(s));
	return true;
}

/* curl's %{json}: every variable, names in order, strings quoted (null
 * when empty), numbers bare. */
static void
add_json(struct evbuffer *m, const struct whirl_writeout_vars *v)
{
	static const struct {
		const char *name;
		bool str;
	} vars[] = {
		{ "content_type", true }, { "errormsg", true },
		{ "exitcode", false }, { "filename_effective", true },
		{ "http_code", false }, { "http_version", true },
		{ "local_ip", true }, { "local_port", false },
		{ "method", true }, { "num_connects", false },
		{ "num_redirects", false }, { "redirect_url", true },
		{ "remote_ip", true }, { "remote_port", false },
		{ "response_code", false }, { "scheme", true },
		{ "size_download", false }, { "size_header", false },
		{ "size_upload", false }, { "speed_download", false },
		{ "time_appconnect", false }, { "time_connect", false },
		{ "time_namelookup", false }, { "time_pretransfer", false },
		{ "time_redirect", false }, { "time_starttransfer", false },
		{ "time_total", false }, { "url", true },
		{ "url_effective", true }, { "urlnum", false }
	};
	struct evbuffer *t = evbuffer_new();
	size_t i, n;

	if (t == NULL)
		abort();        /* out of memory, as whirl__xmalloc */
	evbuffer_add(m, "{", 1);
	for (i = 0; i < WHIRL__ARRAY_LEN(vars); i++) {
		evbuffer_add_printf(m, "%s\"%s\":", i ? "," : "",
		    vars[i].name);
		if (strcmp(vars[i].name, "http_code") == 0 ||
		    strcmp(vars[i].name, "response_code") == 0) {
			evbuffer_add_printf(m, "%d", v->r->code);
			continue;
		}
		if (!vars[i].str) {
			add_var(m, vars[i].name, v);
			continue;
		}
		add_var(t, vars[i].name, v);
		if ((n = evbuffer_get_length(t)) == 0) {
			evbuffer_add(m, "null", 4);
			continue;
		}
		evbuffer_add(m, "\"", 1);
		whirl_json_escape_buf(m, (const char *)evbuffer_pullup(t, -1),
		    n);
		evbuffer_add(m, "\"", 1);
		evbuffer_drain(t, n);
	}
	evbuffer_add(m, ",\"whirl_version\":", 17);
	evbuffer_add(m, "\"", 1);
	if (v->version != NULL)
		whirl_json_escape_buf(m, v->version, strlen(v->version));
	evbuffer_add(m, "\"}", 2);
	evbuffer_free(t);
}

int
whirl_writeout(struct evbuffer *out, struct evbuffer *err, const char *fmt,
    const struct whirl_writeout_vars *v)
{
	struct evbuffer *m = out;
	const char *p, *end;
	char name[300];
	int rc = 0;

	for (p = fmt; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			if (*p == 'n' || *p == 'r' || *p == 't' || *p == '\\')
				evbuffer_add(m, *p == 'n' ? "\n" : *p == 'r' ?
				    "\r" : *p == 't' ? "\t" : "\\", 1);
			else
				evbuffer_add_printf(m, "\\%c", *p);
			continue;
		}
		if (*p != '%' || p[1] != '{') {
			if (*p == '%' && p[1] == '%')
				p++;
			evbuffer_add(m, p, 1);
			continue;
		}
		end = strchr(p, '}');
		if (end != NULL && strncmp(p + 2, "header{", 7) == 0)
			end = strchr(end + 1, '}');
		if (end == NULL) {
			evbuffer_add(m, p, strlen(p));
			break;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
		p = end;
		if (strcmp(name, "json") == 0) {
			add_json(m, v);
		} else if (strcmp(name, "stderr") == 0) {
			m = err;
		} else if (strcmp(name, "stdout") == 0) {
			m = out;
		} else if (strcmp(name, "onerror") == 0) {
			if (v->exitcode == 0)
				break;
		} else if (!add_var(m, name, v) && rc == 0) {
			whirl__seterr(0, "unknown --write-out variable: '%s'",
			    name);
			rc = -1;
		}
	}
	return rc;
}
