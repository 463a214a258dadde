/* web.h - the live web view of glimp serve (the files in server/web, compiled in by
 * cmake/embed.cmake): a page that is a client of the server's own API. */
#ifndef GLIMP_SERVER_WEB_H
#define GLIMP_SERVER_WEB_H

#include <stddef.h>

/* One file of the page, as the generated web_files.c holds it. */
struct srv_web_file {
    const char *path; /* "/" (index.html), "/app.js", ... */
    const char *content_type;
    const unsigned char *data; /* len bytes (and a NUL after them) */
    size_t len;
};

extern const struct srv_web_file srv_web_files[];
extern const size_t srv_web_n_files;

/* The file served at path, NULL when none. */
const struct srv_web_file *srv_web_find(const char *path);

/* Queue f as a 200 answer on c with its type, the CSP below and no-cache;
 * sets *status (for the log). Defined in web.c; needs <microhttpd.h>. */
#ifdef MHD_VERSION
enum MHD_Result srv_web_respond(struct MHD_Connection *c, const struct srv_web_file *f,
                                int *status);
#endif

/* The Content-Security-Policy every file goes with: everything from the
 * server itself, nothing inline, nothing from another origin. */
#define SRV_WEB_CSP                                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

#endif
