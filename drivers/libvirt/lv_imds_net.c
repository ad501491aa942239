/* cloudgate libvirt driver: how guests reach the metadata service at
 * 169.254.169.254 (lv_imds.h).
 *
 * The address cannot sit on every instance network's bridge: each
 * network's dnsmasq binds its addresses, and a second one binding
 * 169.254.169.254 fails ("Address already in use").  So one network per
 * host, LV_IMDS_NETWORK, holds it: no DHCP, DNS off, hence no dnsmasq, and
 * libvirt adds and removes the address with the network.  Guests get a
 * classless static route (DHCP option 121) 169.254.169.254/32 via their
 * own bridge's address; the host delivers locally, to the gateway's
 * metadata listener bound to 169.254.169.254 (IP_FREEBIND).
 */
#include <stdio.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "../../gateway/log.h"
#include "lv_imds.h"

static const char holder_xml[] =
    "<network>\n"
    "  <name>" LV_IMDS_NETWORK "</name>\n"
    "  <dns enable='no'/>\n"
    "  <ip address='" LV_IMDS_ADDR "' prefix='32'/>\n"
    "</network>\n";

int lv_imds_dhcp_route(const char *bridge_ip, char *buf, size_t len)
{
    int n = snprintf(buf, len, "dhcp-option=option:classless-static-route,%s/32,%s",
                     LV_IMDS_ADDR, bridge_ip);

    return n > 0 && (size_t)n < len ? 0 : -1;
}

void lv_imds_net_ensure(cg_drv *drv, lv_host *h, virConnectPtr conn)
{
    virNetworkPtr net;

    /* Only for a listener on the EC2 address, and not on test:// (no host). */
    if (!drv->cfg->metadata_addr || strcmp(drv->cfg->metadata_addr, LV_IMDS_ADDR) != 0 ||
        strcmp(drv->cfg->domain_type, "test") == 0)
        return;
    if (!(net = virNetworkLookupByName(conn, LV_IMDS_NETWORK)) &&
        !(net = virNetworkDefineXML(conn, holder_xml))) {
        cg_warn("zone %s: network %s for the metadata service: %s", lv_host_zone(h),
                LV_IMDS_NETWORK, virGetLastErrorMessage());
        goto cleanup;
    }
    if (virNetworkIsActive(net) != 1 && virNetworkCreate(net) < 0)
        cg_warn("zone %s: start network %s: %s", lv_host_zone(h), LV_IMDS_NETWORK,
                virGetLastErrorMessage());
    else if (virNetworkSetAutostart(net, 1) < 0)
        cg_warn("zone %s: autostart network %s: %s", lv_host_zone(h), LV_IMDS_NETWORK,
                virGetLastErrorMessage());

cleanup:
    if (net)
        virNetworkFree(net);
    virResetLastError();
}
