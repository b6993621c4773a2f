// Command training-operator runs the upstream Kubeflow training-operator (v1) PyTorchJob
// controller and validating webhook out of cluster for the operator-chaos sandbox.
//
// It differs from upstream's cmd/training-operator.v1 only in how it is hosted:
//   - every listener (webhook, metrics, health probes) binds to an explicit loopback address,
//     because the sandbox never binds anything but 127.0.0.1;
//   - the webhook serving certificate comes from --cert-dir, written by the sandbox, instead
//     of the in-cluster cert rotator that expects a Secret mounted by a kubelet;
//   - leader election can be pinned to a namespace (out of cluster there is none to infer).
//
// The reconcilers and webhooks themselves are upstream's, unchanged.
package main

import (
	"flag"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	kubeflowv1 "github.com/kubeflow/training-operator/pkg/apis/kubeflow.org/v1"
	"github.com/kubeflow/training-operator/pkg/config"
	controllerv1 "github.com/kubeflow/training-operator/pkg/controller.v1"
	"github.com/kubeflow/training-operator/pkg/controller.v1/common"
	"github.com/kubeflow/training-operator/pkg/webhooks"
)

func main() {
	var (
		webhookHost, certDir, metricsAddr, probeAddr string
		namespace, leaseNamespace, leaseID           string
		webhookPort, threads                         int
		leaderElect                                  bool
	)
	flag.StringVar(&webhookHost, "webhook-host", "127.0.0.1", "Address the webhook server binds to.")
	flag.IntVar(&webhookPort, "webhook-port", 9443, "Port of the webhook server.")
	flag.StringVar(&certDir, "cert-dir", "", "Directory holding tls.crt and tls.key for the webhook server.")
	flag.StringVar(&metricsAddr, "metrics-bind-address", "127.0.0.1:0", "Metrics endpoint address (0 disables).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", "127.0.0.1:0", "Health probe address.")
	flag.StringVar(&namespace, "namespace", "", "Only watch jobs in this namespace (empty: all).")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Hold a Lease while running.")
	flag.StringVar(&leaseNamespace, "leader-election-namespace", "", "Namespace of the leader-election Lease.")
	flag.StringVar(&leaseID, "leader-election-id", "training-operator-controller-manager-leader-election", "Lease name.")
	flag.IntVar(&threads, "controller-threads", 1, "Reconcile workers.")
	// Upstream's PyTorch settings, with upstream's defaults (read when building worker pods).
	flag.StringVar(&config.Config.PyTorchInitContainerImage, "pytorch-init-container-image",
		config.PyTorchInitContainerImageDefault, "Image of the init container that waits for the master.")
	flag.StringVar(&config.Config.PyTorchInitContainerTemplateFile, "pytorch-init-container-template-file",
		config.PyTorchInitContainerTemplateFileDefault, "Template file for that init container.")
	flag.IntVar(&config.Config.PyTorchInitContainerMaxTries, "pytorch-init-container-max-tries",
		config.PyTorchInitContainerMaxTriesDefault, "Tries of that init container.")
	opts := zap.Options{Development: true}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(kubeflowv1.AddToScheme(scheme))

	var cacheOpts cache.Options
	if namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	// Short lease timings so a replacement process takes over quickly after a pod kill.
	leaseDuration, renewDeadline, retryPeriod := 15*time.Second, 10*time.Second, 2*time.Second
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		WebhookServer:                 webhook.NewServer(webhook.Options{Host: webhookHost, Port: webhookPort, CertDir: certDir}),
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              leaseID,
		LeaderElectionNamespace:       leaseNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
		Cache:                         cacheOpts,
	})
	if err != nil {
		log.Error(err, "unable to create manager")
		os.Exit(1)
	}
	kind := kubeflowv1.PyTorchJobKind
	if err := controllerv1.SupportedSchemeReconciler[kind](mgr, common.GenNonGangSchedulerSetupFunc(), threads); err != nil {
		log.Error(err, "unable to create controller", "kind", kind)
		os.Exit(1)
	}
	if err := webhooks.SupportedSchemeWebhook[kind](mgr); err != nil {
		log.Error(err, "unable to set up webhook", "kind", kind)
		os.Exit(1)
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", mgr.GetWebhookServer().StartedChecker()))
	log.Info("starting manager", "webhook", webhookHost, "port", webhookPort)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}
