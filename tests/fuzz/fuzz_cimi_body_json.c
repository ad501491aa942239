/* cloudgate fuzz target: CIMI JSON request bodies (json-c through
 * cimi_body's JSON path and the body readers); see fuzz_cimi_body.h. */
#include "fuzz_cimi_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_cimi_body(data, size, "application/json");
}
