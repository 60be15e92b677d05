/* pac_eval FILE: loads the PAC FILE with pacjs and prints, for each "url host" line on stdin,
 * FindProxyForURL(url, host), or "ERROR: message".  Exit status 1 when FILE does not load
 * (the message on stderr).  Used by test/e2e/test_pac_engine.py; not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pacjs.h"

int main(int argc, char **argv)
{
	static char script[PACJS_SCRIPT_MAX + 1], line[8192], out[4097];
	char err[600];

	if (argc != 2) {
		fprintf(stderr, "usage: pac_eval FILE < 'url host' lines\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (f == NULL) {
		perror(argv[1]);
		return 1;
	}
	size_t n = fread(script, 1, sizeof(script), f);
	fclose(f);
	struct pacjs *pj = pacjs_new(0);
	if (pj == NULL || pacjs_load(pj, script, n, err, sizeof(err)) < 0) {
		fprintf(stderr, "pac_eval: %s: %s\n", argv[1], pj ? err : "out of memory");
		pacjs_free(pj);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *host = strchr(line, ' ');
		if (host == NULL) {
			printf("ERROR: no host on the line\n");
			continue;
		}
		*host++ = '\0';
		if (pacjs_find(pj, line, host, out, sizeof(out), err, sizeof(err)) == 0)
			printf("%s\n", out);
		else
			printf("ERROR: %s\n", err);
		fflush(stdout);
	}
	pacjs_free(pj);
	return 0;
}
