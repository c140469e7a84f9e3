/* whirl.h - libwhirl, Tornado's idea in C: one include for the whole
 * library, in dependency order.  Users write #include <whirl/whirl.h>.
 *
 * Data flows one way: socket -> iostream -> http1 -> httpserver -> web ->
 * your handler, and back out through the same layers.
 */
#ifndef WHIRL_H
#define WHIRL_H

#include "error.h"
#include "options.h"
#include "ioloop.h"
#include "iostream.h"
#include "tls.h"
#include "netutil.h"
#include "tcpserver.h"
#include "process.h"
#include "prefork.h"
#include "log.h"
#include "escape.h"
#include "httputil.h"
#include "http1.h"
#include "httpserver.h"
#include "form.h"
#include "httpclient.h"
#include "writeout.h"
#include "urlglob.h"
#include "pretty.h"
#include "progress.h"
#include "outfile.h"
#include "static.h"
#include "web.h"
#include "websocket.h"

#endif
