/* chunked: pure chunked-body decoder (see include/chunked.h). */
#include "chunked.h"

#include <string.h>

enum {
	ST_SIZE = 0,   /* hex digits of a chunk size */
	ST_SIZE_END,   /* after the digits: spaces, ";ext", CR */
	ST_SIZE_EXT,   /* an extension, up to LF */
	ST_SIZE_LF,    /* CR seen: LF must follow */
	ST_DATA,       /* chunk data */
	ST_DATA_CR,    /* after the data: CR or LF */
	ST_DATA_LF,    /* CR seen: LF */
	ST_TRAILER,    /* at the start of a trailer line */
	ST_TRAILER_LINE,
	ST_TRAILER_LF, /* CR at the start of a line: LF ends the body */
	ST_DONE,
};

void chunked_init(struct chunked *c)
{
	memset(c, 0, sizeof(*c));
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The size line ended: data next, or the trailer after the last chunk. */
static void size_done(struct chunked *c)
{
	c->state = c->left == 0 ? ST_TRAILER : ST_DATA;
	c->line = 0;
}

int chunked_decode(struct chunked *c, const char *in, size_t inlen, char *out, size_t *outlen, size_t outmax,
		   size_t *used)
{
	size_t i = 0;
	while (i < inlen && c->state != ST_DONE) {
		int ch = (unsigned char)in[i];
		switch (c->state) {
		case ST_SIZE: {
			int v = hexval(ch);
			if (v >= 0) {
				if (c->digits >= 15) /* 2^60 is beyond any bound */
					goto toolarge;
				c->left = c->left * 16 + (unsigned)v;
				c->digits++;
				i++;
				break;
			}
			if (c->digits == 0)
				goto syntax;
			if (c->left > outmax - *outlen)
				goto toolarge;
			c->state = ST_SIZE_END;
			break;
		}
		case ST_SIZE_END:
			i++;
			if (ch == ' ' || ch == '\t')
				break;
			if (ch == ';')
				c->state = ST_SIZE_EXT;
			else if (ch == '\r')
				c->state = ST_SIZE_LF;
			else if (ch == '\n')
				size_done(c);
			else
				goto syntax;
			break;
		case ST_SIZE_EXT:
			i++;
			if (ch == '\n') {
				size_done(c);
			} else if (++c->line > CHUNKED_MAX_LINE) {
				*used = i;
				return CHUNKED_ERR_LINE;
			}
			break;
		case ST_SIZE_LF:
			if (ch != '\n')
				goto syntax;
			i++;
			size_done(c);
			break;
		case ST_DATA: {
			size_t n = inlen - i;
			if (n > c->left)
				n = (size_t)c->left;
			memmove(out + *outlen, in + i, n);
			*outlen += n;
			c->left -= n;
			i += n;
			if (c->left == 0)
				c->state = ST_DATA_CR;
			break;
		}
		case ST_DATA_CR:
			i++;
			if (ch == '\r')
				c->state = ST_DATA_LF;
			else if (ch == '\n')
				c->state = ST_SIZE, c->digits = 0;
			else
				goto syntax;
			break;
		case ST_DATA_LF:
			if (ch != '\n')
				goto syntax;
			i++;
			c->state = ST_SIZE;
			c->digits = 0;
			break;
		case ST_TRAILER:
			i++;
			c->line = 0;
			if (ch == '\r')
				c->state = ST_TRAILER_LF;
			else if (ch == '\n')
				c->state = ST_DONE;
			else
				c->state = ST_TRAILER_LINE;
			break;
		case ST_TRAILER_LINE:
			i++;
			if (ch == '\n') {
				c->state = ST_TRAILER;
			} else if (++c->line > CHUNKED_MAX_LINE) {
				*used = i;
				return CHUNKED_ERR_LINE;
			}
			break;
		case ST_TRAILER_LF:
			if (ch != '\n')
				goto syntax;
			i++;
			c->state = ST_DONE;
			break;
		}
	}
	*used = i;
	return c->state == ST_DONE ? CHUNKED_DONE : CHUNKED_NEED_MORE;
syntax:
	*used = i;
	return CHUNKED_ERR_SYNTAX;
toolarge:
	*used = i;
	return CHUNKED_ERR_TOOLARGE;
}

const char *chunked_strerror(int rc)
{
	switch (rc) {
	case CHUNKED_ERR_SYNTAX:
		return "malformed chunk";
	case CHUNKED_ERR_TOOLARGE:
		return "body too large";
	case CHUNKED_ERR_LINE:
		return "chunk extension or trailer line too long";
	default:
		return "no error";
	}
}
