/* cloudgate fuzz target: CIMI XML request bodies (libxml2, then the
 * XML-to-JSON conversion of cimi_body.c, then the body readers); see
 * fuzz_cimi_body.h. */
#include "fuzz_cimi_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_cimi_body(data, size, "application/xml");
}
