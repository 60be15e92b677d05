/* httpreq_chunk: the incremental scanner of a chunked body (see include/httpreq.h):
 * every byte passes through unchanged, the scanner only says where the body ends. */
#include "httpreq.h"

#include <stdint.h>

#define CHUNK_LINE_MAX 4096 /* a chunk-size line with extensions, or one trailer line */

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LINE, CH_END_LF, CH_DONE };

int httpreq_chunk_scan(struct httpreq_chunk *c, const char *buf, size_t len, size_t *used)
{
	size_t i = 0;
	while (i < len) {
		int ch = (unsigned char)buf[i];
		switch (c->state) {
		case CH_SIZE: {
			int v = (ch >= '0' && ch <= '9') ? ch - '0' : (lower(ch) >= 'a' && lower(ch) <= 'f') ? lower(ch) - 'a' + 10 : -1;
			if (v >= 0) {
				if (++c->digits > 15)
					return HTTPREQ_CHUNK_ERROR;
				c->left = c->left * 16 + (uint64_t)v;
				break;
			}
			if (c->digits == 0)
				return HTTPREQ_CHUNK_ERROR;
			if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == '\n') {
				goto size_done;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CH_EXT;
			} else {
				return HTTPREQ_CHUNK_ERROR;
			}
			break;
		}
		case CH_EXT:
			if (++c->line > CHUNK_LINE_MAX)
				return HTTPREQ_CHUNK_ERROR;
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n')
				goto size_done;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return HTTPREQ_CHUNK_ERROR;
		size_done:
			c->digits = 0;
			c->line = 0;
			c->state = c->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t take = len - i < c->left ? len - i : (size_t)c->left;
			c->left -= take;
			i += take;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		case CH_DATA_CR:
			if (ch == '\n') {
				c->state = CH_SIZE;
				break;
			}
			if (ch != '\r')
				return HTTPREQ_CHUNK_ERROR;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return HTTPREQ_CHUNK_ERROR;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER: /* at the start of a trailer line, or the final blank line */
			if (ch == '\n') {
				c->state = CH_DONE;
				*used = i + 1;
				return HTTPREQ_CHUNK_DONE;
			}
			if (ch == '\r') {
				c->state = CH_END_LF;
				break;
			}
			if (++c->trailers > HTTPREQ_HEADERS_MAX)
				return HTTPREQ_CHUNK_ERROR;
			c->line = 0;
			c->state = CH_TRAILER_LINE;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return HTTPREQ_CHUNK_ERROR;
			c->state = CH_DONE;
			*used = i + 1;
			return HTTPREQ_CHUNK_DONE;
		case CH_TRAILER_LINE:
			if (++c->line > CHUNK_LINE_MAX)
				return HTTPREQ_CHUNK_ERROR;
			if (ch == '\n')
				c->state = CH_TRAILER;
			break;
		default: /* CH_DONE: nothing more belongs to the body */
			*used = i;
			return HTTPREQ_CHUNK_DONE;
		}
		i++;
	}
	*used = len;
	return HTTPREQ_CHUNK_MORE;
}
