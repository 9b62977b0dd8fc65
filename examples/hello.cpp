// hello: the smallest tour of minidl — a tensor expression, backward, values and gradients.
// Run it with `make run` (or build/bin/hello).
#include <iostream>

#include <minidl/minidl.h>

#include "flags.h"

using namespace minidl;

int main(int argc, char** argv) {
  start_program(argv);  // core/program.h: the CPU environment checked, how OpenMP waits chosen
  CLI::App app{"The smallest tour of minidl: a tiny linear model's squared error, its gradients by backward(), and "
               "the same gradients checked by float64 central differences. Takes no flags but --help."};
  MINIDL_PARSE_FLAGS(app, argc, argv, "hello");
  manual_seed(0);
  // A tiny linear model and a squared error: loss = mean((x·W + b − target)²)
  Tensor x = randn({4, 3});
  Tensor target = randn({4, 2});
  Tensor W = randn({3, 2}).requires_grad_();
  Tensor b = zeros({2}).requires_grad_();

  Tensor prediction = matmul(x, W) + b;  // b broadcasts over the 4 rows
  Tensor loss = mean(pow(prediction - target, 2.0));
  loss.backward();

  std::cout << "x =\n" << x << "\n\n";
  std::cout << "W =\n" << W << "\n\n";
  std::cout << "loss = " << loss << "  (made by " << loss.grad_fn_name() << ")\n\n";
  std::cout << "dloss/dW =\n" << W.grad() << "\n\n";
  std::cout << "dloss/db =\n" << b.grad() << "\n\n";

  // The same gradients, checked against central differences in float64.
  auto fn = [&](const std::vector<Tensor>& in) {
    return mean(pow(matmul(x.to(kFloat64), in[0]) + in[1] - target.to(kFloat64), 2.0));
  };
  GradcheckReport report = gradcheck(fn, {W.detach().to(kFloat64), b.detach().to(kFloat64)});
  std::cout << "gradcheck (float64 central differences):\n" << report.summary();
  return report.ok() ? 0 : 1;
}
