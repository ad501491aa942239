/* cloudgate: a libxml2 text writer into a dynbuf (see xml_writer.h). */
#include "xml_writer.h"

/* libxml2's output callback: the bytes into the buffer, or -1 (OOM, or
 * past the buffer's bound), which fails the writer's calls. */
static int write_out(void *ctx, const char *bytes, int len)
{
    return cg_dynbuf_add(ctx, bytes, (size_t)len) == 0 ? len : -1;
}

xmlTextWriterPtr cg_xml_writer_new(cg_dynbuf *out)
{
    xmlOutputBufferPtr ob = xmlOutputBufferCreateIO(write_out, NULL, out, NULL);
    xmlTextWriterPtr w;

    if (!ob)
        return NULL;
    if (!(w = xmlNewTextWriter(ob)))
        xmlOutputBufferClose(ob); /* the writer owns it only once made */
    return w;
}
