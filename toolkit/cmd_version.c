/*
 * krescue version: what this binary is and what it was built with.
 */
#include <stdio.h>

#include <mbedtls/build_info.h>
#include <yaml.h>

#include "extern.h"

int
cmd_version(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	printf("krescue %s\n", KRESCUE_VERSION);
	printf("mbedTLS %s, libyaml %s\n", MBEDTLS_VERSION_STRING,
	    yaml_get_version_string());
	return KR_OK;
}
