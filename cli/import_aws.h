/*
 * import_aws.h — `sgctl import aws FILE [-o DIR] [--prefix-lists [pl-ID=]FILE]...
 * [--lists-dir DIR]`: turn the JSON printed by `aws ec2
 * describe-security-groups` into sgd group files, one per group, and the
 * managed prefix lists it references into prefix_lists.d files.
 * The mapping and every decision it makes are documented in
 * docs/import-aws.md.
 */
#ifndef SGD_IMPORT_AWS_H
#define SGD_IMPORT_AWS_H

#include <stdbool.h>

/* argv[0] is "aws".  Writes DIR/<name>.yaml for every group (DIR defaults
 * to the current directory; created with its parents), LISTS/<name>.yaml
 * for every prefix list with entries, and reports on stderr, by name, everything
 * that could not be expressed; with json, stdout carries one JSON document
 * describing the files and the problems.  Returns the process exit code:
 * 0 every group imported exactly (also: an empty document, 0 groups); 1
 * files written but something was
 * skipped or left unresolved, or the import failed and nothing was
 * written; 2 bad usage. */
int import_aws_main(int argc, char **argv, bool json);

#endif
