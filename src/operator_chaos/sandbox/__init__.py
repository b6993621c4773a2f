"""A real local Kubernetes control plane, built from Kubernetes' own Go modules.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run as plain processes
on 127.0.0.1; kwok plays the kubelet for fake nodes, and a small agent of ours ties real
operator processes to their pods (restart on pod deletion, network partition via a proxy).
Nothing binds or dials anything but loopback.
"""
