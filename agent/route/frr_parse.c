/*
 * FRR's output, parsed: `show running-config` (the `network` statements of
 * one `router bgp` instance) and the verification read of the address
 * method (`show bgp ... P json`, `show ip[v6] nht`, `show zebra client
 * summary`). Pure functions of the text: no I/O, no state (fuzz_frr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "frr.h"

/* ---- running-config parser ---- */

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "router bgp 65001" / "router bgp 65001 vrf BLUE": 1 if it is the instance asked for. */
static int
parse_router_line(const char *line, const char *vrf, uint32_t *asn)
{
	char		 name[128] = "", kw[16] = "";
	unsigned long	 a;
	char		*end;
	int		 n;

	if (!starts_with(line, "router bgp "))
		return 0;
	errno = 0;
	a = strtoul(line + strlen("router bgp "), &end, 10);
	if (errno != 0 || end == line + strlen("router bgp ") || a == 0 || a > UINT32_MAX)
		return 0;
	n = sscanf(end, " %15s %127s", kw, name);
	if (n <= 0) {
		if (vrf != NULL)
			return 0;
	} else if (n != 2 || strcmp(kw, "vrf") != 0 || vrf == NULL ||
	    strcmp(name, vrf) != 0)
		return 0;
	*asn = (uint32_t)a;
	return 1;
}

/* Only a statement in its own family's section is ever looked up. */
static bool
running_indexed(const void *rec)
{
	const struct frr_net	*net = rec;

	return net->af == net->pfx.family;
}

static int
running_add(struct frr_running *r, const struct pfx *p, int af, const char *rm, bool options)
{
	struct frr_net	*tmp;
	size_t		 cap;

	if ((cap = frr_index_grow(r->cap, r->nnets)) != r->cap) {
		if ((tmp = reallocarray(r->nets, cap, sizeof(*tmp))) == NULL)
			return -1;
		r->nets = tmp;
		r->cap = cap;
	}
	memset(&r->nets[r->nnets], 0, sizeof(r->nets[0]));
	r->nets[r->nnets].pfx = *p;
	r->nets[r->nnets].af = af;
	snprintf(r->nets[r->nnets].route_map, FRR_RM_MAX, "%s", rm);
	r->nets[r->nnets].options = options;
	if (frr_index_add(&r->idx, r->nets, r->nnets) == -1)
		return -1;
	r->nnets++;
	return 0;
}

/* "  network 192.0.2.0/24 route-map RM" inside an address-family section. */
static int
parse_network_line(struct frr_running *r, const char *line, int af)
{
	char		 ptxt[128] = "", kw[32] = "", rm[FRR_RM_MAX + 1] = "", err[64];
	char		 more[32] = "";
	struct pfx	 p;
	bool		 options;
	int		 n;

	n = sscanf(line, " network %127s %31s %65s %31s", ptxt, kw, rm, more);
	if (n < 1 || pfx_parse(ptxt, &p, err, sizeof(err)) == -1)
		return 0;
	/* backdoor, label-index ...: such a line cannot be re-entered as it was. */
	options = n == 4 || (n >= 2 && strcmp(kw, "route-map") != 0) ||
	    (n == 3 && strlen(rm) >= FRR_RM_MAX);
	if (n < 3 || strcmp(kw, "route-map") != 0 || strlen(rm) >= FRR_RM_MAX)
		rm[0] = '\0';
	return running_add(r, &p, af, rm, options);
}

int
frr_running_parse(const char *text, const char *vrf, struct frr_running *out)
{
	const char	*s = text, *nl;
	char		 line[512];
	bool		 in_router = false;
	int		 af = 0;	/* AF_INET, AF_INET6, -1 other family, 0 none */
	uint32_t	 asn;
	size_t		 len;

	memset(out, 0, sizeof(*out));
	frr_index_init(&out->idx, sizeof(out->nets[0]), offsetof(struct frr_net, pfx));
	out->idx.keep = running_indexed;
	while (*s != '\0') {
		nl = strchr(s, '\n');
		len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;	/* no line we care about is this long */
		memcpy(line, s, len);
		line[len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		s = nl != NULL ? nl + 1 : s + strlen(s);

		if (line[0] != ' ' && line[0] != '\0') {
			/* A top-level line ends any router block. */
			in_router = false;
			af = 0;
			if (parse_router_line(line, vrf, &asn) == 1) {
				in_router = true;
				out->found = true;
				out->asn = asn;
			}
			continue;
		}
		if (!in_router)
			continue;
		if (starts_with(line, " address-family ")) {
			if (strcmp(line, " address-family ipv4 unicast") == 0)
				af = AF_INET;
			else if (strcmp(line, " address-family ipv6 unicast") == 0)
				af = AF_INET6;
			else
				af = -1;
		} else if (strcmp(line, " exit-address-family") == 0) {
			af = 0;
		} else if ((af == AF_INET || af == AF_INET6) && starts_with(line, "  network ")) {
			if (parse_network_line(out, line, af) == -1) {
				frr_running_clear(out);
				return -1;
			}
		}
	}
	return 0;
}

void
frr_running_clear(struct frr_running *r)
{
	free(r->nets);
	frr_index_free(&r->idx);
	memset(r, 0, sizeof(*r));
}

const struct frr_net *
frr_running_find(const struct frr_running *r, const struct pfx *p)
{
	ptrdiff_t	i = frr_index_find(&r->idx, r->nets, p);

	return i >= 0 ? &r->nets[i] : NULL;
}

void
frr_seen_clear(struct frr_seen *s)
{
	free(s->announced);
	free(s->registered);
	memset(s, 0, sizeof(*s));
}

static bool
json_true(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/*
 * Whether a `show bgp ... P json` answer, for P itself, holds a valid path
 * bgpd sources itself from a network statement.
 */
static bool
json_announced(json_object *o, const struct pfx *asked)
{
	json_object	*paths, *path, *v;
	struct pfx	 p;
	char		 err[64];
	bool		 valid, own;

	/* An answer about another prefix (a covering one) says nothing of P. */
	if (!json_object_object_get_ex(o, "prefix", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    pfx_parse(json_object_get_string(v), &p, err, sizeof(err)) == -1 ||
	    !pfx_equal(&p, asked))
		return false;
	if (!json_object_object_get_ex(o, "paths", &paths) ||
	    !json_object_is_type(paths, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(paths); i++) {
		path = json_object_array_get_idx(paths, i);
		if (!json_object_is_type(path, json_type_object))
			continue;
		valid = json_true(path, "valid");
		/*
		 * A path learned from a peer (another site of the anycast prefix)
		 * is not ours, nor is an aggregate bgpd builds itself.
		 */
		own = json_true(path, "sourced") && json_true(path, "local") &&
		    !json_true(path, "aggregated");
		if (valid && own)
			return true;
	}
	return false;
}

/* "192.0.2.53" or "198.51.100.2(Connected)" at the start of an nht block. */
static bool
nht_header(const char *line, int *af, unsigned char addr[16])
{
	char	buf[64];
	size_t	len = strcspn(line, "( \t");

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*af = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*af = AF_INET6;
		return true;
	}
	return false;
}

/*
 * A tracked prefix's address, for a sorted table: zebra prints one block
 * per tracked address, and a linear search per block made reading the
 * verification of N prefixes O(N^2).
 */
struct nht_key {
	int		family;
	unsigned char	addr[16];	/* zero beyond an IPv4 address */
	size_t		i;		/* in tracked */
};

static int
nht_cmp(const void *a, const void *b)
{
	const struct nht_key	*x = a, *y = b;
	int			 c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((c = memcmp(x->addr, y->addr, sizeof(x->addr))) != 0)
		return c;
	return (x->i > y->i) - (x->i < y->i);
}

static struct nht_key *
nht_keys(const struct pfx *ps, size_t n)
{
	struct nht_key	*k;

	if ((k = calloc(n + 1, sizeof(*k))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		k[i].family = ps[i].family;
		memcpy(k[i].addr, &ps[i].addr, ps[i].family == AF_INET ? 4 : 16);
		k[i].i = i;
	}
	qsort(k, n, sizeof(*k), nht_cmp);
	return k;
}

/* zebra prints the tracked address without its length: every prefix at that address. */
static void
nht_mark(const struct nht_key *k, size_t n, int af, const unsigned char addr[16], bool *reg)
{
	struct nht_key	want = { .family = af, .i = 0 };
	size_t		lo = 0, hi = n, mid;

	memcpy(want.addr, addr, af == AF_INET ? 4 : 16);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (nht_cmp(&k[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && k[lo].family == af &&
	    memcmp(k[lo].addr, want.addr, sizeof(want.addr)) == 0; lo++)
		reg[k[lo].i] = true;
}

int
frr_verify_parse(const char *text, bool zebra_answered, const struct pfx *ps, size_t n,
    const struct pfx *tracked, size_t ntracked, struct frr_seen *out)
{
	json_tokener	*tok = NULL;
	json_object	*o;
	struct nht_key	*keys = NULL;
	const char	*s = text, *nl;
	char		 line[512];
	size_t		 njson = 0, len;
	unsigned char	 addr[16];
	int		 af = 0, rc = -1;
	bool		 in_block = false;

	memset(out, 0, sizeof(*out));
	out->announced = calloc(n + 1, sizeof(bool));
	out->registered = calloc(ntracked + 1, sizeof(bool));
	if (out->announced == NULL || out->registered == NULL ||
	    (tok = json_tokener_new()) == NULL ||
	    (zebra_answered && (keys = nht_keys(tracked, ntracked)) == NULL))
		goto fail;
	while (*s != '\0') {
		nl = strchr(s, '\n');
		len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (s[0] == '{') {
			/* One answer per prefix, in the order asked. */
			json_tokener_reset(tok);
			o = json_tokener_parse_ex(tok, s, (int)strlen(s));
			if (o == NULL)
				break;	/* truncated or not JSON: bgp_ok stays false */
			if (njson < n && json_object_is_type(o, json_type_object))
				out->announced[njson] = json_announced(o, &ps[njson]);
			njson++;
			json_object_put(o);
			s += json_tokener_get_parse_end(tok);
			continue;
		}
		if (len >= sizeof(line))
			len = sizeof(line) - 1;	/* no line we care about is this long */
		memcpy(line, s, len);
		line[len] = '\0';
		s = nl != NULL ? nl + 1 : s + strlen(s);
		if (!zebra_answered)
			continue;
		/* `show zebra client summary`: one row per connected daemon. */
		if (strncmp(line, "bgp ", 4) == 0)
			out->bgp_client = true;
		else if (line[0] != ' ' && line[0] != '\t')
			in_block = nht_header(line, &af, addr);
		else if (in_block && strstr(line, "Client list:") != NULL &&
		    strstr(line, "bgp(") != NULL)
			nht_mark(keys, ntracked, af, addr, out->registered);
	}
	out->bgp_ok = njson == n;
	out->zebra_ok = zebra_answered;
	rc = 0;
fail:
	if (tok != NULL)
		json_tokener_free(tok);
	free(keys);
	if (rc == -1)
		frr_seen_clear(out);
	return rc;
}
