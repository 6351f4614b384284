/*
 * Description: a tiny C extension for tests/python.sh, built by the test
 * against the interpreter's headers: leaky.leak_buffer(n) mallocs n bytes
 * and keeps no pointer to them, a leak no Python tool can see.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *leak_buffer(PyObject *self, PyObject *arg)
{
	long n = PyLong_AsLong(arg);
	char *p;

	if (n <= 0)
		return PyErr_Occurred() ? NULL : PyLong_FromLong(0);
	p = malloc((size_t)n); /* LEAK */
	if (!p)
		return PyErr_NoMemory();
	memset(p, 'x', (size_t)n);
	return PyLong_FromLong(p[n - 1]);
}

static PyMethodDef methods[] = {
	{"leak_buffer", leak_buffer, METH_O, "malloc n bytes and forget them"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "leaky", NULL, -1, methods};

PyMODINIT_FUNC PyInit_leaky(void)
{
	return PyModule_Create(&module);
}
