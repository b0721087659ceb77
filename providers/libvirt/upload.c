/*
 * upload.c — the bytes of a new volume streamed to its host: a local
 * image file (volume_upload) and a VM's cloud-init seed ISO, built in
 * memory (seed_write).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/libvirt/internal.h"
#include "reconcile/cloudinit.h"
#include "reconcile/fault.h"
#include "reconcile/transport.h"

/* The local image file, read for an upload stream. */
struct upload_source {
	int fd;
	uint64_t size, sent;
	int error;              /* errno of a failed read, 0 */
	const char *address;    /* the action's, for the fault point */
	bool fault_checked;
};

static int upload_read(virStreamPtr stream, char *data, size_t nbytes, void *opaque)
{
	struct upload_source *src = opaque;
	size_t want = nbytes < UPLOAD_CHUNK ? nbytes : UPLOAD_CHUNK, got = 0;
	ssize_t n;

	(void)stream;
	if (src->sent && !src->fault_checked) {     /* the first chunk is sent */
		src->fault_checked = true;
		vf_fault_point("volume-upload", src->address);
	}
	if (want > src->size - src->sent)
		want = (size_t)(src->size - src->sent);   /* never past the announced length */
	while (got < want) {
		n = read(src->fd, data + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			src->error = errno;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	src->sent += got;
	return (int)got;
}

/*
 * A volume holding the bytes of desired->u.vol.upload_file, streamed from
 * here (nothing is copied to the host first).  It is created raw so that
 * libvirt writes no header of its own; the refresh afterwards lets libvirt
 * probe the real format (a qcow2 image shows as qcow2).  On failure the
 * half-written volume is deleted, so a retry uploads again.
 */
/* Delete the volume a failed upload left half-written; *vol becomes NULL. */
static void volume_discard(virStorageVolPtr *vol)
{
	virStorageVolDelete(*vol, 0);
	virStorageVolFree(*vol);
	*vol = NULL;
	virResetLastError();
}

/*
 * Open the desired volume's image file for reading into src (fd, size),
 * under the file policy again, symlinks resolved now: never a file of the
 * repository's choosing outside its directory.
 */
static int image_open(struct op *op, struct upload_source *src)
{
	const struct vf_volume_spec *v = &op->a->desired->u.vol;
	struct stat st;
	char *real = NULL, *why = NULL;

	if (vf_image_open_check(v->upload_file, v->upload_root, &real, &why) < 0) {
		vf_op_failf(op, "refused: %s", why);
		free(why);
		return -1;
	}
	src->fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(real);
	if (src->fd < 0 || fstat(src->fd, &st) < 0)
		return vf_op_failf(op, "cannot read image file '%s': %s", v->upload_file,
				   strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return vf_op_failf(op, "image file '%s' is %s", v->upload_file,
				   S_ISREG(st.st_mode) ? "empty" : "not a regular file");
	src->size = (uint64_t)st.st_size;
	return 0;
}

/* Stream src into vol, all of it and no more than it had when opened. */
static int image_send(struct op *op, virStorageVolPtr vol, struct upload_source *src)
{
	const char *file = op->a->desired->u.vol.upload_file;
	virStreamPtr stream = virStreamNew(op->conn, 0);
	int rc = -1;

	if (!stream || virStorageVolUpload(vol, stream, 0, src->size, 0) < 0) {
		vf_op_fail(op, "upload");
	} else if (virStreamSendAll(stream, upload_read, src) < 0) {
		/* SendAll aborts the stream itself when it fails. */
		if (src->error)
			vf_op_failf(op, "cannot upload: cannot read '%s': %s", file,
				    strerror(src->error));
		else
			vf_op_fail(op, "upload");
	} else if (src->sent != src->size) {
		virStreamAbort(stream);
		vf_op_failf(op, "cannot upload: '%s' changed size during the upload", file);
	} else if (virStreamFinish(stream) < 0) {
		vf_op_fail(op, "upload");
	} else {
		rc = 0;
	}
	if (stream)
		virStreamFree(stream);
	return rc;
}

int vf_libvirt_volume_upload(struct op *op, virStoragePoolPtr pool, virStorageVolPtr *vol)
{
	struct upload_source src = { .fd = -1, .address = op_address(op) };
	struct vf_resource raw = *op->a->desired;
	int rc = -1;

	if (image_open(op, &src) < 0)
		goto out;
	raw.u.vol.format = VF_FORMAT_RAW;
	raw.u.vol.backing = NULL;
	if (vf_libvirt_volume_create_xml(op, pool, &raw, src.size, NULL, VF_FORMAT_RAW, vol) < 0)
		goto out;
	if (image_send(op, *vol, &src) < 0) {
		volume_discard(vol);
		goto out;
	}
	if (vf_libvirt_pool_refresh(pool) < 0) {
		vf_op_fail(op, "refresh the storage pool after the upload");
		goto out;               /* the data is there: a retry refreshes */
	}
	rc = 0;
out:
	if (src.fd >= 0)
		close(src.fd);
	return rc;
}

/* The seed image in memory, read for an upload stream. */
struct memory_source {
	const unsigned char *data;
	size_t len, sent;
};

static int memory_read(virStreamPtr stream, char *data, size_t nbytes, void *opaque)
{
	struct memory_source *src = opaque;
	size_t n = src->len - src->sent;

	(void)stream;
	if (n > nbytes)
		n = nbytes;
	if (n > UPLOAD_CHUNK)
		n = UPLOAD_CHUNK;
	memcpy(data, src->data + src->sent, n);
	src->sent += n;
	return (int)n;
}

/*
 * Write seed's ISO image (reconcile/cloudinit.h: built here, in memory,
 * with its sealed values opened and wiped) as volume seed->volume of pool:
 * an old one is deleted first (its size changes with its content), the new
 * one created raw and filled with a libvirt stream, as an image upload is
 * (remote hosts too).  The image never touches this machine's disks.  On
 * failure the half-written volume is deleted.
 */
int vf_libvirt_seed_write(struct op *op, virStoragePoolPtr pool, const struct vf_seed *seed,
			  virStorageVolPtr *vol)
{
	struct vf_resource r = { .kind = VF_KIND_VOLUME, .name = seed->volume };
	struct vf_secret iso = { 0 };
	struct memory_source src = { 0 };
	virStreamPtr stream = NULL;
	virStorageVolPtr old = NULL;
	char *error = NULL;
	int rc = -1;

	*vol = NULL;
	if (vf_seed_build(seed, &iso, &error) < 0) {
		vf_op_failf(op, "cannot build the cloud-init seed: %s", error);
		free(error);
		return -1;
	}
	if (vf_libvirt_volume_find(op, pool, seed->volume, &old) < 0)
		goto out;
	if (old) {
		if (virStorageVolDelete(old, 0) < 0 && !last_error_was(VIR_ERR_NO_STORAGE_VOL)) {
			vf_op_fail(op, "delete the old cloud-init seed volume");
			virStorageVolFree(old);
			goto out;
		}
		virStorageVolFree(old);
	}
	r.u.vol.pool = seed->pool;
	r.u.vol.format = VF_FORMAT_RAW;
	if (vf_libvirt_volume_create_xml(op, pool, &r, iso.len, NULL, VF_FORMAT_RAW, vol) < 0)
		goto out;
	src.data = iso.data;
	src.len = iso.len;
	stream = virStreamNew(op->conn, 0);
	if (!stream || virStorageVolUpload(*vol, stream, 0, iso.len, 0) < 0 ||
	    virStreamSendAll(stream, memory_read, &src) < 0 || virStreamFinish(stream) < 0) {
		vf_op_fail(op, "upload the cloud-init seed");
		volume_discard(vol);
		goto out;
	}
	if (vf_libvirt_pool_refresh(pool) < 0) {
		vf_op_fail(op, "refresh the storage pool after the upload");
		goto out;
	}
	rc = 0;
out:
	if (stream)
		virStreamFree(stream);
	vf_secret_wipe(&iso);
	return rc;
}
