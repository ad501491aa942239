/* cloudgate libvirt driver: what lv_domxml.c (building) and lv_domparse.c
 * (parsing) share about the <cloudgate:instance> metadata. */
#ifndef LV_DOMXML_INT_H
#define LV_DOMXML_INT_H

#include <stddef.h>

#include <libxml/tree.h>

#include "../driver.h"

#define XC(s) ((const xmlChar *)(s))

/* The instance's string attributes as metadata elements, in document order;
 * the builder and the parser both walk this table. */
#define MD_STRING(e, m) e, offsetof(cg_instance, m), sizeof(((cg_instance *)0)->m)
static const struct {
    const char *elem;
    size_t offset;
    size_t size;
} md_strings[] = {
    {MD_STRING("id", id)},
    {MD_STRING("image-id", image_id)},
    {MD_STRING("reservation-id", reservation_id)},
    {MD_STRING("instance-type", instance_type)},
    {MD_STRING("zone", zone)},
    {MD_STRING("key-name", key_name)},
    {MD_STRING("client-token", client_token)},
};
#define N_MD_STRINGS (sizeof(md_strings) / sizeof(md_strings[0]))

/* <disable-api-termination>: written only while set, so instances without
 * the protection keep the metadata they always had. */
#define MD_DISABLE_API_TERMINATION "disable-api-termination"

/* <display>: the stored choice (headless, vnc, spice); absent in instances
 * made before displays existed, which are headless. */
#define MD_DISPLAY "display"

#endif
