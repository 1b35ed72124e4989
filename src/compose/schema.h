/* A JSON Schema compiled for schema.c's validator: flat tables of nodes,
 * property entries, index lists and strings, referring to each other by
 * index, with every `$ref` resolved. Two producers write this format:
 * gen-schema.py, at build time, for the schema berth embeds (so that one
 * costs no parsing and, being free of pointers but four, no relocations at
 * start-up), and compose_schema_compile() for any JSON Schema document at
 * run time (the upstream schemas of the unit test). Both follow the same
 * rules, listed at struct cs_node; the unit test checks that they agree on
 * compose-schema.json. */
#pragma once
#include <stdint.h>

#define CS_NONE UINT32_MAX

enum {
	CS_TRUE,   /* accepts everything: `true`, or a value that is not an object */
	CS_FALSE,  /* `false` */
	CS_OBJECT, /* a schema object */
};

/* which keywords are present (for those with no CS_NONE to say so) */
enum {
	CS_HAS_TYPE = 1 << 0,      /* "type", whatever its value */
	CS_HAS_MINPROPS = 1 << 1,  /* "minProperties", an integer */
	CS_HAS_MINITEMS = 1 << 2,  /* "minItems", an integer */
	CS_HAS_MAXITEMS = 1 << 3,  /* "maxItems", an integer */
	CS_HAS_MINLEN = 1 << 4,    /* "minLength", an integer */
	CS_HAS_MINIMUM = 1 << 5,   /* "minimum", a number */
	CS_HAS_MAXIMUM = 1 << 6,   /* "maximum", a number */
	CS_UNIQUE = 1 << 7,        /* "uniqueItems": true */
};

/* the type names of "type" (bits of cs_node.types; unknown names set none) */
enum {
	CS_T_OBJECT = 1 << 0,
	CS_T_ARRAY = 1 << 1,
	CS_T_STRING = 1 << 2,
	CS_T_INTEGER = 1 << 3,
	CS_T_NUMBER = 1 << 4,
	CS_T_BOOLEAN = 1 << 5,
	CS_T_NULL = 1 << 6,
};

/* One schema. Strings are offsets into cschema.strs, nodes indices into
 * cschema.nodes, CS_NONE when absent. Rules (those of the validator before
 * it was compiled): $ref counts when it is a string that resolves ("#/a/b",
 * split at '/'); type_want is the "type" string, or its array's strings
 * joined with ", " and a last " or " ("?" for an entry that is not a
 * string); enum is kept when an array, as compact JSON, and const whatever
 * its value; properties and patternProperties when objects (properties
 * sorted by name with strcmp, patterns in schema order); required's
 * strings when an array; additionalProperties only when false or an
 * object; items only when an object; pattern when a string;
 * propertyNames, not, and the entries of allOf/anyOf/oneOf (when arrays)
 * whatever their value. */
struct cs_node {
	uint8_t kind;  /* CS_TRUE, CS_FALSE, CS_OBJECT */
	uint8_t has;   /* CS_HAS_* */
	uint8_t types; /* CS_T_* */
	uint32_t type_want, enum_json, const_json, pattern;  /* strings */
	uint32_t ref, addl, prop_names, not_, items;         /* nodes */
	uint32_t props, pprops;  /* first entry in cschema.props */
	uint32_t required;       /* first string offset in cschema.lists */
	uint32_t all_of, any_of, one_of; /* first node index in cschema.lists */
	uint16_t nprops, npprops, nrequired, nall_of, nany_of, none_of;
	int64_t min_props, min_items, max_items, min_length;
	double minimum, maximum;
};

struct cs_prop {
	uint32_t name; /* string: the property name, or the pattern */
	uint32_t node;
};

/* A compiled schema; node 0 is the root. */
struct cschema {
	const struct cs_node *nodes;
	const struct cs_prop *props;
	const uint32_t *lists;
	const char *strs;
	uint32_t nnodes, nprops, nlists, nstrs;
};

/* the schema berth embeds (gen-schema.py embed) */
extern const struct cschema compose_schema_embedded;
