/*
 * fuzz_kubeadm_config.c: libFuzzer target for kubeadm_config_parse, and
 * for the SAN derivation that reads what it parsed (service subnet,
 * controlPlaneEndpoint, certSANs).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	*names[] = { "apiserver", "etcd-server",
	    "etcd-peer", "ca" };
	static struct layout	 lo;	/* large: keep it off the stack */
	static char		 sans[KCFG_MAXSANS + 16][256];
	struct buf		 b = { NULL, 0 };
	struct item		 it;
	char			 why[256];
	volatile size_t		 sink = 0;
	size_t			 i;
	int			 n, j;

	if (size > KR_MAXFILE)
		return 0;
	(void)buf_set(&b, data, size);
	memset(&lo, 0, sizeof(lo));
	if (kubeadm_config_parse(&b, &lo.cfg, why, sizeof(why)) == 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			memset(&it, 0, sizeof(it));
			(void)xsnprintf(it.name, sizeof(it.name), "%s",
			    names[i]);
			n = layout_expected_sans(&lo, &it, sans,
			    KCFG_MAXSANS + 16);
			for (j = 0; j < n; j++)
				sink += strlen(sans[j]);
		}
		sink += (size_t)version_minor(lo.cfg.k8s_version);
		layout_free(&lo);
	} else
		sink += strlen(why);
	buf_free(&b);
	(void)sink;
	return 0;
}
