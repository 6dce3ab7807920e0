/*
 * paths.h — the one definition of sgd's default paths, for sgd, sgctl
 * and the tests.  They match the unit (systemd/sgd.service.in:
 * ConfigurationDirectory=, RuntimeDirectory=, StateDirectory=),
 * docs/install.md and the man pages.
 */
#ifndef SGD_PATHS_H
#define SGD_PATHS_H

#define SGD_DEFAULT_CONFDIR	"/etc/sgd"
#define SGD_DEFAULT_SOCKET	"/run/sgd/sgd.sock"
#define SGD_DEFAULT_STATEDIR	"/var/lib/sgd"

#endif
