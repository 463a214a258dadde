/* web.c - serving the web view's files (/, /app.js, /style.css) from the
 * bytes compiled into the binary. The page holds no data, so it is served
 * without the API key; the API calls it makes carry the key the user gives
 * it. Every file goes with a strict Content-Security-Policy. */
#include <microhttpd.h>

#include "server/web.h"

#include <string.h>

const struct srv_web_file *srv_web_find(const char *path)
{
    if (!strcmp(path, "/index.html"))
        path = "/";
    for (size_t i = 0; i < srv_web_n_files; i++)
        if (!strcmp(srv_web_files[i].path, path))
            return &srv_web_files[i];
    return NULL;
}

enum MHD_Result srv_web_respond(struct MHD_Connection *c, const struct srv_web_file *f, int *status)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", f->content_type);
    MHD_add_response_header(r, "Content-Security-Policy", SRV_WEB_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    *status = 200;
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}
