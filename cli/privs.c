/* privs.c — `watch --user`: dropping root once the capture handle is open. See cli.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_drop_privs(const char *user, char *errbuf, size_t cap)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(errbuf, cap, "--user %s: no such user", user);
        return NZ_EUSAGE;
    }
    if (getuid() != 0 && geteuid() != 0) {
        if (getuid() == pw->pw_uid)
            return 0;
        snprintf(errbuf, cap, "--user %s: not running as root, cannot switch user", user);
        return NZ_EUSAGE;
    }
    /* Supplementary groups: only the user's primary group (root's, e.g. disk or adm, must not
     * survive); then real, effective and saved ids, group first (setgid needs root). */
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
        snprintf(errbuf, cap, "--user %s: cannot drop privileges: %s", user, strerror(errno));
        return NZ_EIO;
    }
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != uid || eu != uid ||
        su != uid || rg != gid || eg != gid || sg != gid ||
        (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 || (gid != 0 && (setgid(0) == 0 || setegid(0) == 0))))) {
        snprintf(errbuf, cap, "--user %s: privileges could be regained; refusing", user);
        return NZ_EIO;
    }
    return 0;
}
