/* cloudgate: a libxml2 text writer into a growable buffer (dynbuf.h).
 *
 * libxml2's xmlBuffer grows by what each 4 KB flush adds, so a large
 * document is copied again and again; written through here, its bytes are
 * copied about once and handed over without another copy.  Used by every
 * XML response (EC2, CIMI). */
#ifndef CG_XML_WRITER_H
#define CG_XML_WRITER_H

#include <libxml/xmlwriter.h>

#include "dynbuf.h"

/* A writer whose output goes into out (an initialised buffer, which must
 * outlive the writer).  xmlFreeTextWriter flushes what it still holds into
 * out; then take the bytes with cg_dynbuf_take.  NULL on OOM. */
xmlTextWriterPtr cg_xml_writer_new(cg_dynbuf *out);

#endif
